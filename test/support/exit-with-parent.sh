#!/usr/bin/env bash
# The guard lives in dev/ (dev/process.ts starts servers behind it); this path keeps working.
exec "$(dirname "${BASH_SOURCE[0]}")/../../dev/exit-with-parent.sh" "$@"
