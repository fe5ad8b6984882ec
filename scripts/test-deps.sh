#!/usr/bin/env bash
# Installs what `make test` needs beyond Go: a C/C++ toolchain for cgo, the
# real MeCab with two dictionaries, the reference tokenizer/mecab is
# compared against, and nginx, the load balancer tests/nginx_test.go puts
# in front of three replicas (deploy/nginx). Node.js and npm run the client
# libraries in tests/clients/node; they are installed from Debian only when
# the commands are missing, so a newer Node.js (e.g. NodeSource's) is kept.
# Bookworm's nodejs is 18: the pinned packages pass on 18.20 (npm warns that
# the @langchain packages ask for node >= 20, and installs them).
set -euo pipefail
here="$(dirname "$0")"
"$here/apt-install.sh" gcc g++ make mecab mecab-ipadic-utf8 unidic-mecab nginx
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  "$here/apt-install.sh" nodejs npm
fi
