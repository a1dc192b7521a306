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
  --province-broker URL  bridge live calls and queue states to the province's broker (best effort):
                       mqtts://bridge-SITE:PASSWORD@HOST:8883 as `motcua province bridge-user` printed it
  --province-broker-cafile FILE  the province's CA certificate (PEM) for that TLS link, when its
                       certificate is not from a public CA (installed as /etc/mosquitto/certs/motcua-province-ca.crt;
                       default: the system's CA bundle)
EOF
  exit 2
}

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SITE_FILE="" PUBLIC_URL="" HTTP_PORT=8000 MQTT_PORT=1883 HALL_TV=1 APT=1 START=1 WHEELS=""
PROVINCE_BROKER="" PROVINCE_CAFILE=""
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
    --province-broker) PROVINCE_BROKER="${2:?}"; shift 2 ;;
    --province-broker-cafile) PROVINCE_CAFILE="${2:?}"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "install-site: unknown option $1" >&2; usage ;;
  esac
done
[ -n "$SITE_FILE" ] || usage
[ "$(id -u)" = 0 ] || { echo "install-site: run as root (sudo $0 …)" >&2; exit 2; }
[ -f "$SITE_FILE" ] || { echo "install-site: site file $SITE_FILE not found" >&2; exit 2; }
SITE_FILE="$(cd "$(dirname "$SITE_FILE")" && pwd)/$(basename "$SITE_FILE")"

PROG=install-site
# shellcheck source=deploy/common.sh
. "$SRC/deploy/common.sh"

if [ "$APT" = 1 ]; then
  if [ "$HALL_TV" = 1 ]; then apt_ensure "${APP_PACKAGES[@]}" "${SITE_PACKAGES[@]}" "${SESSION_PACKAGES[@]}"
  else apt_ensure "${APP_PACKAGES[@]}" "${SITE_PACKAGES[@]}"; fi
fi
for tool in python3 mosquitto mosquitto_passwd; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || die "$tool is missing"
done
ensure_user audio video render input
install_app
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

# The live province board's bridge (optional, best effort): written when --province-broker is
# given, kept as it is on a re-run without it (a re-run must not drop what the operator set).
if [ -n "$PROVINCE_BROKER" ]; then
  bridge_args=(province bridge-config --site "$SITE_ID" --broker "$PROVINCE_BROKER")
  if [ -n "$PROVINCE_CAFILE" ]; then
    # Mosquitto reads the CA file only when the bridge connects, as its own user (not as root when
    # it starts): a copy it can read in a fixed place, whatever the given file's folder and mode.
    [ -f "$PROVINCE_CAFILE" ] || die "--province-broker-cafile $PROVINCE_CAFILE: no such file"
    cafile=/etc/mosquitto/certs/motcua-province-ca.crt
    install -d -m 0755 /etc/mosquitto/certs
    if ! cmp -s "$PROVINCE_CAFILE" "$cafile"; then
      say "installing the province's CA certificate as $cafile"
      install -m 0644 "$PROVINCE_CAFILE" "$cafile.new" && mv "$cafile.new" "$cafile"
    fi
    chown root:root "$cafile"; chmod 0644 "$cafile"   # a CA certificate is public
    bridge_args+=(--cafile "$cafile")
  fi
  bridge="$($MOTCUA "${bridge_args[@]}")" || die "--province-broker: see the line above"
  if [ "$(cat /etc/mosquitto/conf.d/motcua-bridge.conf 2>/dev/null)" != "$bridge" ]; then
    say "writing /etc/mosquitto/conf.d/motcua-bridge.conf (live board to the province broker)"
    (umask 027; printf '%s\n' "$bridge" > /etc/mosquitto/conf.d/motcua-bridge.conf)
  fi
  chown root:mosquitto /etc/mosquitto/conf.d/motcua-bridge.conf 2>/dev/null || true
  chmod 0640 /etc/mosquitto/conf.d/motcua-bridge.conf   # it holds the bridge's password
fi

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
# the nightly backup (motcua-backup.service, started by its timer; not by itself at boot)
for u in motcua-backup.service motcua-backup.timer; do
  put_if_changed "/etc/systemd/system/$u" 0644 < "$SRC/deploy/systemd/$u" && changed=1
done
for u in "${units[@]}"; do
  sed -e "s|@HTTP_PORT@|$HTTP_PORT|g" -e "s|@HTTP_HOST@|0.0.0.0|g" "$SRC/deploy/systemd/$u" \
    | put_if_changed "/etc/systemd/system/$u" 0644 && changed=1
done
install -d /etc/systemd/system/mosquitto.service.d
put_if_changed /etc/systemd/system/mosquitto.service.d/motcua.conf 0644 \
  < "$SRC/deploy/systemd/mosquitto-motcua.conf" && changed=1
enable_units "$changed" "$START" mosquitto.service "${units[@]}" motcua-backup.timer

say "site $SITE_ID installed: $PUBLIC_URL (dashboard $PUBLIC_URL/dashboard/$SITE_ID)"
say "add staff:   motcua user add NAME --role official --site $SITE_ID --config $CONFIG"
say "add devices: motcua device add kiosk-2 --role kiosk   (prints the line to paste on the device)"
