# Shared by install-site.sh and install-device.sh (sourced; not run on its own).
# Expects: PROG (name for messages), SRC (the checkout), WHEELS (optional offline wheel dir).

# Debian package names are the same on Debian 12 and Ubuntu 24.04.
APP_PACKAGES=(python3 python3-venv ca-certificates fonts-dejavu-core libgl1 libegl1 libgles2 libmtdev1
  libegl-mesa0 libgl1-mesa-dri)
SITE_PACKAGES=(mosquitto espeak-ng alsa-utils)
SESSION_PACKAGES=(xserver-xorg-core xserver-xorg-input-libinput xinit)

say() { echo "$PROG: $*"; }
die() { echo "$PROG: $*" >&2; exit 2; }

apt_ensure() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-upgrade "${missing[@]}" >/dev/null
  fi
}

# The system user: runs every service; no login, no home of its own.
ensure_user() {
  if ! id motcua >/dev/null 2>&1; then
    say "creating system user motcua"
    useradd --system --user-group --home-dir /var/lib/motcua --no-create-home --shell /usr/sbin/nologin motcua
  fi
  local g
  for g in "$@"; do
    getent group "$g" >/dev/null && usermod -a -G "$g" motcua
  done
  install -d -m 0750 -o root -g motcua /etc/motcua
  install -d -m 0700 -o motcua -g motcua /var/lib/motcua
  install -d -m 0755 /opt/motcua
}

# The app: a venv under /opt/motcua, reinstalled only when this checkout changed.
install_app() {
  [ -x /opt/motcua/bin/python ] || python3 -m venv /opt/motcua
  local stamp build
  stamp="$(cd "$SRC" && find pyproject.toml motcua server counter kiosk devices deploy -type f \
    ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64)"
  if [ "$(cat /opt/motcua/.source-sha256 2>/dev/null)" != "$stamp" ]; then
    say "installing motcua into /opt/motcua"
    build="$(mktemp -d)"
    # a copy, so a checkout owned by someone else (or read-only) is never written to
    (cd "$SRC" && tar --exclude=.venv --exclude=.git --exclude='*.egg-info' --exclude=build --exclude=.demo -cf - .) \
      | tar -C "$build" -xf -
    local pip_args=(--quiet --disable-pip-version-check)
    [ -n "${WHEELS:-}" ] && pip_args+=(--no-index --find-links "$WHEELS")
    /opt/motcua/bin/pip install "${pip_args[@]}" "$build[kiosk]"
    rm -rf "$build"
    echo "$stamp" > /opt/motcua/.source-sha256
  fi
  ln -sf /opt/motcua/bin/motcua /usr/local/bin/motcua
}

# Write a file only when its content differs; returns 0 when it changed.
put_if_changed() {  # put_if_changed PATH MODE < content
  local path="$1" mode="$2" new
  new="$(cat)"
  if [ "$(cat "$path" 2>/dev/null)" != "$new" ]; then
    printf '%s\n' "$new" > "$path"; chmod "$mode" "$path"; return 0
  fi
  chmod "$mode" "$path"; return 1
}

# Enable (and start) units; without a running systemd, make the symlinks systemctl would.
enable_units() {  # enable_units CHANGED START UNIT...
  local changed="$1" start="$2" u; shift 2
  if [ -d /run/systemd/system ]; then
    [ "$changed" = 1 ] && systemctl daemon-reload
    systemctl enable -q "$@"
    [ "$start" = 1 ] && systemctl restart "$@"
  else
    local wants
    for u in "$@"; do
      wants=/etc/systemd/system/multi-user.target.wants   # a .timer is wanted by timers.target
      case "$u" in *.timer) wants=/etc/systemd/system/timers.target.wants ;; esac
      install -d "$wants"
      if [ -f "/etc/systemd/system/$u" ]; then
        ln -sfn "/etc/systemd/system/$u" "$wants/$u"
      elif [ -f "/lib/systemd/system/$u" ]; then
        ln -sfn "/lib/systemd/system/$u" "$wants/$u"
      fi
    done
    say "systemd is not running here: units installed and enabled, nothing started"
  fi
}
