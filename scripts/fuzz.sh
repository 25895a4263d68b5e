#!/usr/bin/env bash
# Fuzzes the parsers that read input from outside with libFuzzer (address sanitizer on), each for a
# bounded time, starting from the committed seed corpus in Fuzz/corpus/<target>/.
#
#   scripts/fuzz.sh [seconds-per-target] [target...]
#
# A crash fails the script; libFuzzer saves the input as Fuzz/crashes/<target>/crash-*: add it to
# the target's corpus (and a regression test) once fixed. Prints the executions per target.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-30}"
shift || true
build=.build/fuzz
mkdir -p "$build"

# target → the sources it is compiled with, as one module (each target stands alone: no package
# dependencies; the imports of the project's own modules are dropped, since their files are in it).
declare -A sources=(
    [link_header]="Fuzz/link_header.swift Sources/OktaClient/LinkHeader.swift"
    [http_headers]="Fuzz/http_headers.swift Sources/ConnectorDomain/Time/HTTPDate.swift Sources/ConnectorDomain/Time/HeaderValues.swift Sources/ConnectorDomain/Schedule/CivilDate.swift Sources/ConnectorDomain/Okta/Timestamp.swift"
    [delivery]="Fuzz/delivery.swift Sources/ConnectorDomain/Events/EventHookDeliveryParser.swift Sources/ConnectorDomain/Events/EventHookDelivery.swift Sources/ConnectorDomain/Events/OktaLogEvent.swift Sources/ConnectorDomain/Events/OktaLogEvent+JSON.swift Sources/ConnectorDomain/Okta/JSONValue.swift Sources/ConnectorDomain/Okta/JSONCoding.swift Sources/ConnectorDomain/Okta/Timestamp.swift Sources/ConnectorDomain/Okta/OktaIdentifier.swift Sources/ConnectorDomain/Text/JSONDuplicateKeys.swift Sources/ConnectorDomain/Text/JSONScanner.swift Sources/ConnectorDomain/Mapping/CanonicalJSON.swift Sources/ConnectorDomain/Schedule/CivilDate.swift Sources/ConnectorDomain/Time/HeaderValues.swift Sources/ConnectorDomain/Time/HTTPDate.swift"
)
sources[user_filter]="Fuzz/user_filter.swift Sources/OktaSimulator/API/UserFilter.swift Sources/ConnectorDomain/Okta/OktaUserStatus.swift Sources/ConnectorDomain/Okta/Timestamp.swift Sources/ConnectorDomain/Okta/JSONValue.swift Sources/ConnectorDomain/Schedule/CivilDate.swift Sources/ConnectorDomain/Time/HeaderValues.swift Sources/ConnectorDomain/Time/HTTPDate.swift"
sources[csv_cell]="Fuzz/csv_cell.swift Sources/NeuronsSinks/CSVSnapshotWriter.swift Sources/NeuronsSinks/RecordSink.swift Sources/ConnectorDomain/Files/PrivateFileAccess.swift Sources/ConnectorDomain/Okta/JSONValue.swift Sources/ConnectorDomain/Okta/JSONCoding.swift Sources/ConnectorDomain/Okta/Timestamp.swift Sources/ConnectorDomain/Mapping/CanonicalJSON.swift Sources/ConnectorDomain/Schedule/CivilDate.swift Sources/ConnectorDomain/Time/HeaderValues.swift Sources/ConnectorDomain/Time/HTTPDate.swift"
sources[user_page]="Fuzz/user_page.swift Fuzz/support/sha256_hasher_stand_in.swift Sources/ConnectorDomain/Okta/OktaUserPage.swift Sources/ConnectorDomain/Text/JSONScanner.swift Sources/ConnectorDomain/Okta/OktaUser.swift Sources/ConnectorDomain/Okta/OktaUserStatus.swift Sources/ConnectorDomain/Okta/JSONValue.swift Sources/ConnectorDomain/Okta/JSONCoding.swift Sources/ConnectorDomain/Okta/Timestamp.swift Sources/ConnectorDomain/Mapping/CanonicalJSON.swift Sources/ConnectorDomain/Schedule/CivilDate.swift Sources/ConnectorDomain/Time/HeaderValues.swift Sources/ConnectorDomain/Time/HTTPDate.swift"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(link_header http_headers delivery user_filter csv_cell configuration user_page); fi

status=0
for target in "${targets[@]}"; do
    # The linker's notes about the sanitizer's local symbols are noise: shown only on failure.
    copies="$build/src-$target"
    rm -rf "$copies" && mkdir -p "$copies"
    files=()
    extra=()
    module="fuzz_$target"
    list="${sources[$target]:-}"
    if [[ "$target" == configuration ]]; then
        # The loader with Yams as one module named Yams (the loader calls `Yams.compose`), Yams's C
        # parser compiled with the sanitizer, every domain file but those that need swift-crypto.
        yams=.build/checkouts/Yams/Sources
        if [[ ! -d "$yams" ]]; then
            echo "fuzz configuration: SKIPPED (no $yams: run swift build first)"
            continue
        fi
        mkdir -p "$build/cyaml"
        for c in "$yams"/CYaml/src/*.c; do
            clang -c -O1 -fsanitize=fuzzer-no-link,address -I"$yams/CYaml/include" "$c" \
                -o "$build/cyaml/$(basename "$c" .c).o"
        done
        list="Fuzz/configuration.swift Fuzz/support/sha256_stand_in.swift $(ls Sources/ConnectorConfiguration/*.swift \
            Sources/ConnectorConfiguration/*/*.swift) $(grep -L '^import Crypto$' Sources/ConnectorDomain/*/*.swift) \
            $(ls "$yams"/Yams/*.swift)"
        module=Yams
        extra=(-D SWIFT_PACKAGE -I "$yams/CYaml/include" "$build"/cyaml/*.o)
    fi
    for source in $list; do
        copy="$copies/$(echo "${source#./}" | tr '/' '_')"
        sed -E '/^(public |internal |package )?import (Connector[A-Za-z]*|OktaClient|OktaSimulator|NeuronsSinks|SQLiteStore|PostgreSQLStore|Yams|Crypto)$/d' \
            "$source" >"$copy"
        files+=("$copy")
    done
    if ! swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name "$module" \
        "${files[@]}" "${extra[@]}" -o "$build/$target" >"$build/$target.build.log" 2>&1; then
        grep -v 'Cannot export local symbol' "$build/$target.build.log"
        echo "fuzz $target: does not compile"
        status=1
        continue
    fi
    mkdir -p "Fuzz/crashes/$target" "$build/corpus-$target"
    log="$build/$target.log"
    # New inputs go to a scratch corpus; the committed seeds are read only.
    # SWIFT_BACKTRACE off: Swift's crash reporter reading memory after a trap is itself flagged by
    # the address sanitizer and hides the real failure.
    if SWIFT_BACKTRACE=enable=no "$build/$target" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="Fuzz/crashes/$target/" "$build/corpus-$target" "Fuzz/corpus/$target" >"$log" 2>&1; then
        runs=$(grep -Eo 'Done [0-9]+ runs' "$log" | grep -Eo '[0-9]+' | tail -1)
        echo "fuzz $target: ${runs:-?} executions in ${seconds}s, no crash"
    else
        status=1
        echo "fuzz $target: FAILED (see $log; crashing input in Fuzz/crashes/$target/)"
        tail -30 "$log"
    fi
done
exit $status
