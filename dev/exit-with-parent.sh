#!/usr/bin/env bash
# Runs a command until this script's standard input closes, then stops it. The test run holds
# the other end of that pipe, so a server started for tests never outlives the run, even when
# the run itself is killed.
# Background jobs of a script read /dev/null unless told otherwise: keep the real stdin as fd 3.
exec 3<&0
"$@" </dev/null 3<&- &
child=$!
{
  cat <&3 >/dev/null
  kill -TERM "$child" 2>/dev/null
  for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$child" 2>/dev/null || exit 0; sleep 0.5; done
  kill -KILL "$child" 2>/dev/null
} &
wait "$child"
status=$?
exit "$status"
