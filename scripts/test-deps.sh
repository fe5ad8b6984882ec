#!/usr/bin/env bash
# Installs what `make test` needs beyond Go: a C/C++ toolchain for cgo and
# the real MeCab with two dictionaries, the reference tokenizer/mecab is
# compared against. Uses Debian's apt when run as root; otherwise it says
# what to install. Does nothing when everything is there.
set -euo pipefail

need=()
command -v gcc >/dev/null || need+=(gcc)
command -v g++ >/dev/null || need+=(g++)
command -v make >/dev/null || need+=(make)
for p in mecab mecab-ipadic-utf8 unidic-mecab; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || need+=("$p")
done
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
else
  echo "make test needs: ${need[*]}" >&2
  echo "install them, e.g.: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
