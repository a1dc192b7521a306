#!/usr/bin/env bash
# Install (or repair) a motcua device on its own mini-PC, as root, from the line printed by
# `motcua device add NAME --role ROLE` on the site server:
#
#   sudo deploy/install-device.sh --join 'motcua1:…' [--printer usb://04b8:0202] [--reader serial:///dev/ttyACM0]
#
# A kiosk, hall TV or counter screen starts full screen on tty1 at boot (motcua-device.service:
# X with the motcua program as its only client); an announcer runs as motcua-announcer.service.
# Running it again changes nothing unless the line or the options changed.
set -euo pipefail
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROG=install-device
# shellcheck source=deploy/common.sh
. "$SRC/deploy/common.sh"

usage() { echo "usage: install-device.sh --join LINE | --join-file FILE [--printer URL] [--reader URL] [--no-apt] [--no-start] [--wheels DIR]" >&2; exit 2; }
LINE="" EXTRA="" APT=1 START=1 WHEELS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --join) LINE="${2:?}"; shift 2 ;;
    --join-file) LINE="$(grep -v '^#' "${2:?}" | grep -m1 .)"; shift 2 ;;
    --printer) EXTRA="$EXTRA --printer ${2:?}"; shift 2 ;;
    --reader) EXTRA="$EXTRA --reader ${2:?}"; shift 2 ;;
    --no-apt) APT=0; shift ;;
    --no-start) START=0; shift ;;
    --wheels) WHEELS="${2:?}"; shift 2 ;;
    *) usage ;;
  esac
done
[ -n "$LINE" ] || usage
[ "$(id -u)" = 0 ] || die "run as root (sudo $0 …)"
case "$EXTRA" in *[!a-zA-Z0-9:/._?=\&\ -]*) die "--printer/--reader URLs may hold only letters, digits and :/._?=&-" ;; esac

role="$(python3 -c 'import base64, json, sys; d = sys.argv[1].split(":", 1)[1]; print(json.loads(base64.urlsafe_b64decode(d + "=" * (-len(d) % 4)))["role"])' "$LINE" 2>/dev/null)" \
  || die "that is not a join line (print one on the server: motcua device add NAME --role ROLE)"
if [ "$APT" = 1 ]; then
  case "$role" in
    announcer) apt_ensure "${APP_PACKAGES[@]}" espeak-ng alsa-utils ;;
    *) apt_ensure "${APP_PACKAGES[@]}" "${SESSION_PACKAGES[@]}" espeak-ng alsa-utils ;;
  esac
fi
ensure_user audio video render input lp dialout plugdev
install_app
# The line is checked by motcua itself before it is kept.
/opt/motcua/bin/python -c 'import sys; from motcua import join; join.decode(sys.argv[1])' "$LINE" \
  || die "the join line was refused"
printf '# written by install-device.sh\n%s\n' "$LINE" | put_if_changed /etc/motcua/device.join 0640 || true
chown root:motcua /etc/motcua/device.join

changed=0
case "$role" in
  announcer)
    unit=motcua-announcer.service
    sed -e "s|/etc/motcua/devices/announcer.join|/etc/motcua/device.join|" "$SRC/deploy/systemd/$unit" \
      | put_if_changed "/etc/systemd/system/$unit" 0644 && changed=1 ;;
  *)
    unit=motcua-device.service
    case "$role" in kiosk) command="kiosk --fullscreen" ;; *) command="display" ;; esac
    sed -e "s|@ROLE@|$role|g" -e "s|@COMMAND@|$command|" -e "s|@EXTRA@|$(printf '%s' "${EXTRA# }" | sed 's/[&\\]/\\&/g')|" -e "s|  *--  *:0| -- :0|" \
      "$SRC/deploy/systemd/$unit" | put_if_changed "/etc/systemd/system/$unit" 0644 && changed=1 ;;
esac
enable_units "$changed" "$START" "$unit"
say "$role installed: $unit starts it at boot"
