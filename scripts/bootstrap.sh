#!/usr/bin/env bash
# Set up napari-dvp on a fresh Linux machine and run the demo or the tests.
#
#   bash scripts/bootstrap.sh demo [demo options]    # install, then `napari-dvp demo`
#   bash scripts/bootstrap.sh test [pytest options]  # install with test extras, lint, run tests
#
# Creates (or reuses) a virtual environment in .venv of this repository, installs the
# package with its Qt (PyQt6) extra, and, when running as root on Debian/Ubuntu,
# installs the system libraries napari needs to draw under Xvfb if they are missing.
set -euo pipefail

mode="${1:-}"
case "$mode" in
  demo|test) shift ;;
  *) echo "usage: bash scripts/bootstrap.sh demo|test [options]" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
root="$(pwd)"
venv="$root/.venv"

say() { printf '\n== %s\n' "$*"; }

# 1. System libraries for napari's OpenGL canvas under a virtual screen (Xvfb + Mesa).
sys_pkgs=(xvfb xauth libgl1-mesa-dri libegl1 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4
  libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-xinerama0
  libxcb-xfixes0 libxcb-shape0 libdbus-1-3 libfontconfig1)
if command -v dpkg-query >/dev/null 2>&1; then
  # Qt needs GLib; Ubuntu 24.04 renamed its package (t64)
  if ! dpkg-query -W -f='${Status}' libglib2.0-0t64 2>/dev/null | grep -q "install ok installed"; then
    if command -v apt-cache >/dev/null 2>&1 && apt-cache show libglib2.0-0t64 >/dev/null 2>&1; then
      sys_pkgs+=(libglib2.0-0t64)
    else
      sys_pkgs+=(libglib2.0-0)
    fi
  fi
  missing=()
  for p in "${sys_pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      say "installing system libraries: ${missing[*]}"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      echo "warning: missing system packages (${missing[*]}); install them as root" \
           "(apt-get install ${missing[*]}) or napari cannot draw without a screen" >&2
    fi
  fi
fi

# 2. Python virtual environment and the package.
python="${PYTHON:-python3}"
is_root_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
apt_install() {
  say "installing system packages: $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
if ! command -v "$python" >/dev/null 2>&1 && [ "$python" = python3 ] && is_root_apt; then
  apt_install python3 python3-venv
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "error: napari-dvp needs Python >= 3.10 (found: $("$python" --version 2>&1));" \
       "install python3 (Debian/Ubuntu: apt-get install python3 python3-venv)" >&2
  exit 2
fi
# Debian/Ubuntu ship venv's pip (ensurepip) separately, in python3-venv / python3.X-venv.
if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
  pyver="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  if is_root_apt; then
    apt_install "python$pyver-venv" 2>/dev/null || apt_install python3-venv
  else
    echo "error: $python cannot create virtual environments (no ensurepip); install" \
         "python$pyver-venv as root (apt-get install python$pyver-venv) and run this again" >&2
    exit 2
  fi
fi
if [ ! -x "$venv/bin/python" ]; then
  say "creating virtual environment in $venv"
  "$python" -m venv "$venv"
elif ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
  say "adding pip to $venv (an earlier run stopped before it had pip)"
  "$venv/bin/python" -m ensurepip --upgrade --default-pip >/dev/null
fi
extras="pyqt6"
[ "$mode" = test ] && extras="pyqt6,testing"
stamp="$venv/.napari-dvp-$extras.stamp"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  say "installing napari-dvp[$extras] (first time: a few minutes; cellpose brings torch)"
  "$venv/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
  if ! "$venv/bin/python" -m pip install -q -e ".[$extras]" 2>&1 \
      | { grep -v '^WARNING: Location' || true; }; then
    echo "error: installing napari-dvp[$extras] failed (see pip's message above); check the" \
         "internet connection or the package index, then run this again" >&2
    exit 1
  fi
  "$venv/bin/python" -c "import napari_dvp, napari, cellpose" # fail loudly if the install did not work
  touch "$stamp"
fi

# 3. Run.
if [ "$mode" = demo ]; then
  if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ "$#" -eq 0 ]; then
    say "napari-dvp demo (napari opens; close it to finish)"
    exec "$venv/bin/napari-dvp" demo
  fi
  [ "$#" -eq 0 ] && set -- --headless --out demo-output
  say "napari-dvp demo $*"
  exec "$venv/bin/napari-dvp" demo "$@"
fi

say "ruff"
"$venv/bin/ruff" check .
if [ "$#" -eq 0 ]; then
  # the whole suite: one pytest-xdist worker per core, at most 4 (each worker runs its own
  # Xvfb and napari; 2 workers take the suite from ~10.5 to ~6.7 min on a 2-core machine)
  workers=$(nproc 2>/dev/null || echo 1)
  [ "$workers" -gt 4 ] && workers=4
  [ "$workers" -gt 1 ] && set -- -n "$workers"
fi
say "pytest $*"
exec "$venv/bin/python" -m pytest "$@"
