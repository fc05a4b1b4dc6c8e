#!/bin/sh
# Procurement workflow: before a purchase order for a third-party AI system is released, ask
# the AIMS whether the system has passed the intake and risk gates (registered with a business
# owner, risk classified before procurement, impact assessed when high-risk). A procurement
# tool (ServiceNow, Coupa, SAP Ariba, ...) calls this as an approval step, or makes the same
# two GET requests itself.
#   AIMS_URL=https://aims.example AIMS_KEY=... ./procurement-check.sh SYS-ID
# Exit 0: approve the purchase; 1: hold it (what to record is printed); 2: could not ask.
set -eu
system="${1:?usage: procurement-check.sh SYSTEM-IDENTIFIER}"
held=0
for gate in intake risk; do
  code=$(curl -sS -o "decision-$gate.json" -w '%{http_code}' \
    -H "Authorization: Bearer ${AIMS_KEY}" \
    "${AIMS_URL}/v1/systems/${system}/gates/${gate}${AIMS_AS_OF:+?as_of=${AIMS_AS_OF}}")
  if [ "$code" != 200 ]; then echo "AIMS answered HTTP $code: $(cat "decision-$gate.json")"; exit 2; fi
  jq -r '"\(.gate): \(.decision) (\(.reason))"' "decision-$gate.json"
  jq -r '.missing[] | "  missing [\(.rule)] \(.message)\n    add: \(.record_to_add)"' "decision-$gate.json"
  [ "$(jq -r .decision "decision-$gate.json")" = allow ] || held=1
done
if [ "$held" = 0 ]; then echo "approve: $system may be procured"; else echo "hold: $system"; fi
exit "$held"
