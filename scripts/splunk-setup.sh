#!/bin/sh
# Configures a fresh Splunk Enterprise for AgentScope through its REST API
# (port 8089): the events index, the HEC token writing to it, and the
# agentscope:events / agentscope:audit sourcetype settings. Idempotent: an
# index, token or sourcetype that already exists is updated or left as is,
# so the compose stack can run it on every `docker compose up`.
#
# Settings (environment):
#   SPLUNK_PASSWORD   admin password (required)
#   SPLUNK_HEC_TOKEN  the HEC token value to create (required, a UUID)
#   SPLUNK_REST_URL   default https://splunk:8089
#   SPLUNK_USER       default admin
#   SPLUNK_INDEX      default agentscope
#   SPLUNK_CA_FILE    CA bundle for the REST certificate; unset means the
#                     image's self-signed certificate is not verified
set -eu

: "${SPLUNK_PASSWORD:?SPLUNK_PASSWORD is required}"
: "${SPLUNK_HEC_TOKEN:?SPLUNK_HEC_TOKEN is required}"
rest_url=${SPLUNK_REST_URL:-https://splunk:8089}
user=${SPLUNK_USER:-admin}
index=${SPLUNK_INDEX:-agentscope}

tls_opt=--insecure
if [ -n "${SPLUNK_CA_FILE:-}" ]; then
	tls_opt="--cacert=${SPLUNK_CA_FILE}"
fi

body=$(mktemp)
trap 'rm -f "$body"' EXIT

# post PATH [--data-urlencode k=v]... prints the HTTP status. The
# credentials go to curl on standard input, never on its command line.
post() {
	path=$1
	shift
	printf 'user = "%s:%s"\n' "$user" "$SPLUNK_PASSWORD" |
		curl --silent --show-error --config - "$tls_opt" \
			--output "$body" --write-out '%{http_code}' \
			"$rest_url$path" "$@"
}

# ensure WHAT CREATE_PATH ENTITY_PATH [--data-urlencode k=v]... creates an
# entity, or on 409 (it exists) updates it with the same settings less name.
ensure() {
	what=$1
	create=$2
	entity=$3
	shift 3
	status=$(post "$create" "$@")
	case $status in
	200 | 201)
		echo "splunk-setup: created $what"
		return 0
		;;
	409) ;;
	*)
		echo "splunk-setup: creating $what: HTTP $status" >&2
		cat "$body" >&2
		return 1
		;;
	esac
	if [ -z "$entity" ]; then
		echo "splunk-setup: $what exists"
		return 0
	fi
	# Drop the name=... pair: an existing entity is addressed by its path.
	shift 2
	status=$(post "$entity" "$@")
	case $status in
	200 | 201) echo "splunk-setup: $what exists, updated" ;;
	*)
		echo "splunk-setup: updating $what: HTTP $status" >&2
		cat "$body" >&2
		return 1
		;;
	esac
}

# Wait for the management port (the compose healthcheck gates this already;
# this covers running the script by hand).
tries=0
until [ "$(post /services/server/info)" = 200 ]; do
	tries=$((tries + 1))
	if [ "$tries" -ge 60 ]; then
		echo "splunk-setup: $rest_url does not answer with the given credentials" >&2
		exit 1
	fi
	sleep 5
done

ensure "index $index" /services/data/indexes "" \
	--data-urlencode "name=$index"

# HEC itself is off in a fresh instance; turn it on (idempotent update).
status=$(post /servicesNS/nobody/splunk_httpinput/data/inputs/http/http \
	--data-urlencode disabled=0)
case $status in
200 | 201) ;;
*)
	echo "splunk-setup: enabling HEC: HTTP $status" >&2
	cat "$body" >&2
	exit 1
	;;
esac

ensure "HEC token agentscope" \
	/servicesNS/nobody/splunk_httpinput/data/inputs/http \
	/servicesNS/nobody/splunk_httpinput/data/inputs/http/agentscope \
	--data-urlencode name=agentscope \
	--data-urlencode "token=$SPLUNK_HEC_TOKEN" \
	--data-urlencode "index=$index" \
	--data-urlencode "indexes=$index" \
	--data-urlencode sourcetype=agentscope:events

for st in agentscope:events agentscope:audit; do
	ensure "sourcetype $st" \
		/servicesNS/nobody/search/configs/conf-props \
		"/servicesNS/nobody/search/configs/conf-props/$(printf %s "$st" | sed 's/:/%3A/g')" \
		--data-urlencode "name=$st" \
		--data-urlencode KV_MODE=json \
		--data-urlencode SHOULD_LINEMERGE=false \
		--data-urlencode TRUNCATE=200000 \
		--data-urlencode "category=Structured" \
		--data-urlencode "description=AgentScope $st (JSON)"
done

echo "splunk-setup: done"
