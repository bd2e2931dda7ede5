#!/bin/sh
# TEST STAND-IN: the official node image's entrypoint behaviour. A first argument that is a flag,
# or not an executable command, is passed to node.
set -e
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi
exec "$@"
