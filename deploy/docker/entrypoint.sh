#!/bin/sh
# Entry point of the dynlab image: `coordinator`, `trainer` or `analyzer` runs that service
# (node services/<name>/dist/main.js with the remaining arguments); anything else is executed as
# given (a shell, node, a one-off command).
set -e
case "${1:-}" in
  coordinator|trainer|analyzer)
    service="$1"
    shift
    exec node "/app/services/${service}/dist/main.js" "$@"
    ;;
  --help|-h|"")
    echo "usage: <image> coordinator|trainer|analyzer [options]   (each takes --help)"
    echo "       <image> <command> [args...]                       (runs the command)"
    exit 0
    ;;
  *)
    exec "$@"
    ;;
esac
