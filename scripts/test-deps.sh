#!/usr/bin/env bash
# Installs what `make test` needs beyond Go: a C/C++ toolchain for cgo and
# the real MeCab with two dictionaries, the reference tokenizer/mecab is
# compared against.
exec "$(dirname "$0")/apt-install.sh" gcc g++ make mecab mecab-ipadic-utf8 unidic-mecab
