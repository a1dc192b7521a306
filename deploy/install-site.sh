#!/usr/bin/env bash
# Install (or repair) a whole motcua site on a fresh Debian 12 / Ubuntu 24.04 mini-PC, as root:
#
#   sudo deploy/install-site.sh --site-file my-site.toml
#
# It installs the system packages, a system user `motcua`, the app in a venv under /opt/motcua,
# /etc/motcua/motcua.toml with a generated secret key and broker password, the SQLite database
# under /var/lib/motcua (0700), Mosquitto with motcua's conf.d file, password file and per-site
# ACL, a join line for every [[devices]] entry of the site file (plus the hall TV and the
# announcer on this machine), and systemd units for the server, the announcer and the hall TV
# (kiosk mode on tty1). Running it again repairs what is missing and changes nothing else: an
# existing secret, password, token or database is never regenerated or dropped.
set -euo pipefail

usage() {
  cat >&2 <<'EOF'
usage: install-site.sh --site-file FILE [options]
  --site-file FILE     the site (copy server/seed/demo_site.toml, edit it; [[devices]] lists kiosks…)
  --public-url URL     what citizens' phones and the devices reach (default http://<this machine's IP>:PORT)
  --http-port N        the server's port (default 8000)
  --mqtt-port N        the broker's port for the LAN (default 1883)
  --no-hall-tv         do not install the hall TV session on tty1 (no X server)
  --no-apt             do not install system packages (they are already there)
  --no-start           install and enable, but do not start anything now
  --wheels DIR         install Python packages only from DIR (offline; pip download them elsewhere)
EOF
  exit 2
}

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SITE_FILE="" PUBLIC_URL="" HTTP_PORT=8000 MQTT_PORT=1883 HALL_TV=1 APT=1 START=1 WHEELS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --site-file) SITE_FILE="${2:?}"; shift 2 ;;
    --public-url) PUBLIC_URL="${2:?}"; shift 2 ;;
    --http-port) HTTP_PORT="${2:?}"; shift 2 ;;
    --mqtt-port) MQTT_PORT="${2:?}"; shift 2 ;;
    --no-hall-tv) HALL_TV=0; shift ;;
    --no-apt) APT=0; shift ;;
    --no-start) START=0; shift ;;
    --wheels) WHEELS="${2:?}"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "install-site: unknown option $1" >&2; usage ;;
  esac
done
[ -n "$SITE_FILE" ] || usage
[ "$(id -u)" = 0 ] || { echo "install-site: run as root (sudo $0 …)" >&2; exit 2; }
[ -f "$SITE_FILE" ] || { echo "install-site: site file $SITE_FILE not found" >&2; exit 2; }
SITE_FILE="$(cd "$(dirname "$SITE_FILE")" && pwd)/$(basename "$SITE_FILE")"

say() { echo "install-site: $*"; }

# Debian package names are the same on Debian 12 and Ubuntu 24.04.
APT_PACKAGES=(python3 python3-venv ca-certificates mosquitto espeak-ng alsa-utils fonts-dejavu-core
  libgl1 libegl1 libgles2 libmtdev1)
HALL_TV_PACKAGES=(xserver-xorg-core xserver-xorg-input-libinput xinit)
if [ "$APT" = 1 ]; then
  wanted=("${APT_PACKAGES[@]}")
  [ "$HALL_TV" = 1 ] && wanted+=("${HALL_TV_PACKAGES[@]}")
  missing=()
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-upgrade "${missing[@]}" >/dev/null
  fi
fi
for tool in python3 mosquitto mosquitto_passwd; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "install-site: $tool is missing" >&2; exit 2; }
done

# The system user: owns the database and runs every service; no login, no home of its own.
if ! id motcua >/dev/null 2>&1; then
  say "creating system user motcua"
  useradd --system --user-group --home-dir /var/lib/motcua --no-create-home --shell /usr/sbin/nologin motcua
fi
for g in audio video render input; do
  getent group "$g" >/dev/null && usermod -a -G "$g" motcua
done
install -d -m 0750 -o root -g motcua /etc/motcua
install -d -m 0700 -o motcua -g motcua /var/lib/motcua
install -d -m 0755 /opt/motcua

# The app: a venv under /opt/motcua, reinstalled only when this checkout changed.
[ -x /opt/motcua/bin/python ] || python3 -m venv /opt/motcua
stamp="$(cd "$SRC" && find pyproject.toml motcua server counter kiosk devices deploy -type f \
  ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64)"
if [ "$(cat /opt/motcua/.source-sha256 2>/dev/null)" != "$stamp" ]; then
  say "installing motcua into /opt/motcua"
  build="$(mktemp -d)"
  # a copy, so a checkout owned by someone else (or read-only) is never written to
  (cd "$SRC" && tar --exclude=.venv --exclude=.git --exclude='*.egg-info' --exclude=build --exclude=.demo -cf - .) \
    | tar -C "$build" -xf -
  pip_args=(--quiet --disable-pip-version-check)
  [ -n "$WHEELS" ] && pip_args+=(--no-index --find-links "$WHEELS")
  /opt/motcua/bin/pip install "${pip_args[@]}" "$build[kiosk]"
  rm -rf "$build"
  echo "$stamp" > /opt/motcua/.source-sha256
fi
ln -sf /opt/motcua/bin/motcua /usr/local/bin/motcua
MOTCUA=/opt/motcua/bin/motcua
PY=/opt/motcua/bin/python

SITE_ID="$($PY -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["site"]["id"])' "$SITE_FILE")" \
  || { echo "install-site: $SITE_FILE has no [site] id" >&2; exit 2; }
if [ -z "$PUBLIC_URL" ]; then
  ip="$(hostname -I 2>/dev/null | awk '{print $1}')"
  PUBLIC_URL="http://${ip:-127.0.0.1}:$HTTP_PORT"
fi

# The config: written once. The secret key and the server's broker password are generated
# here and never again; an edited file is left alone.
CONFIG=/etc/motcua/motcua.toml
if [ ! -s "$CONFIG" ]; then
  say "writing $CONFIG (new secret key and broker password)"
  umask 077
  $PY - "$CONFIG" "$SITE_ID" "$PUBLIC_URL" "$MQTT_PORT" <<'PYEOF'
import secrets, sys, urllib.parse
config, site, public_url, mqtt_port = sys.argv[1:]
host = urllib.parse.urlsplit(public_url).hostname or "127.0.0.1"
text = f'''# motcua site settings (written by deploy/install-site.sh; edit and restart motcua-server).
# Environment variables MOTCUA_* override these values.
[motcua]
site = "{site}"
database_url = "sqlite:////var/lib/motcua/motcua.sqlite3"
mqtt_url = "mqtt://motcua-server:{secrets.token_urlsafe(24)}@127.0.0.1:{mqtt_port}"
public_url = "{public_url}"
secret_key = "{secrets.token_urlsafe(48)}"

# The broker as devices reach it, and where motcua keeps its users and ACL
# (motcua device add NAME --role ROLE keeps them in step).
[broker]
host = "{host}"
port = {mqtt_port}
password_file = "/etc/mosquitto/motcua.passwd"
acl_file = "/etc/mosquitto/motcua.acl"
pid_file = "/run/mosquitto/mosquitto.pid"
devices_dir = "/etc/motcua/devices"
'''
with open(config, "x", encoding="utf-8") as f:
    f.write(text)
PYEOF
  umask 022
fi
chown root:motcua "$CONFIG"
chmod 0640 "$CONFIG"

# Mosquitto: motcua's own conf.d file next to Debian's stock mosquitto.conf (which sets the
# pid file, persistence and the log file), our password file and ACL.
install -d -m 0755 /etc/mosquitto/conf.d
conf="$($PY -c 'import sys; from server.broker import render_site_conf as r; print(r(port=int(sys.argv[1]), host="0.0.0.0", password_file="/etc/mosquitto/motcua.passwd", acl_file="/etc/mosquitto/motcua.acl"), end="")' "$MQTT_PORT")"
if [ "$(cat /etc/mosquitto/conf.d/motcua.conf 2>/dev/null)" != "$conf" ]; then
  say "writing /etc/mosquitto/conf.d/motcua.conf"
  printf '%s\n' "$conf" > /etc/mosquitto/conf.d/motcua.conf
fi
chmod 0644 /etc/mosquitto/conf.d/motcua.conf

# Database (as motcua, so every file it creates is motcua's and 0600), site, devices.
as_motcua() { runuser -u motcua -- sh -c 'umask 077; exec "$@"' sh "$@"; }
(cd /var/lib/motcua && as_motcua $MOTCUA db upgrade --config "$CONFIG")
cp "$SITE_FILE" /etc/motcua/site.toml.new && mv /etc/motcua/site.toml.new /etc/motcua/site.toml
chown root:motcua /etc/motcua/site.toml; chmod 0640 /etc/motcua/site.toml
(cd /var/lib/motcua && as_motcua $MOTCUA site load /etc/motcua/site.toml --config "$CONFIG")
(cd /var/lib/motcua && $MOTCUA device sync --site-file /etc/motcua/site.toml --config "$CONFIG")
chown -R motcua:motcua /var/lib/motcua   # anything root's device sync touched stays the server's

# systemd units (the same bytes on every run, so a re-run reloads nothing).
units=(motcua-server.service motcua-announcer.service)
[ "$HALL_TV" = 1 ] && units+=(motcua-hall.service)
changed=0
render_unit() {
  sed -e "s|@HTTP_PORT@|$HTTP_PORT|g" -e "s|@HTTP_HOST@|0.0.0.0|g" "$SRC/deploy/systemd/$1"
}
for u in "${units[@]}"; do
  new="$(render_unit "$u")"
  if [ "$(cat "/etc/systemd/system/$u" 2>/dev/null)" != "$new" ]; then
    printf '%s\n' "$new" > "/etc/systemd/system/$u"; changed=1
  fi
done
install -d /etc/systemd/system/mosquitto.service.d
if ! cmp -s "$SRC/deploy/systemd/mosquitto-motcua.conf" /etc/systemd/system/mosquitto.service.d/motcua.conf; then
  cp "$SRC/deploy/systemd/mosquitto-motcua.conf" /etc/systemd/system/mosquitto.service.d/motcua.conf; changed=1
fi

if [ -d /run/systemd/system ]; then
  [ "$changed" = 1 ] && systemctl daemon-reload
  systemctl enable -q mosquitto.service "${units[@]}"
  if [ "$START" = 1 ]; then
    systemctl restart mosquitto.service
    systemctl restart "${units[@]}"
  fi
else
  # No running systemd (a chroot, a container): enable by the symlinks systemctl would make.
  install -d /etc/systemd/system/multi-user.target.wants
  for u in "${units[@]}"; do
    ln -sfn "/etc/systemd/system/$u" "/etc/systemd/system/multi-user.target.wants/$u"
  done
  [ -f /lib/systemd/system/mosquitto.service ] && \
    ln -sfn /lib/systemd/system/mosquitto.service /etc/systemd/system/multi-user.target.wants/mosquitto.service
  say "systemd is not running here: units installed and enabled, nothing started"
fi

say "site $SITE_ID installed: $PUBLIC_URL (dashboard $PUBLIC_URL/dashboard/$SITE_ID)"
say "add staff:   motcua user add NAME --role official --site $SITE_ID --config $CONFIG"
say "add devices: motcua device add kiosk-2 --role kiosk   (prints the line to paste on the device)"
