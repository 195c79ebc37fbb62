#!/bin/sh
# Builds the Worker into OUT_DIR (default: build/), the directory wrangler.toml deploys:
#   shim.mjs        the entry module (exports the fetch handler)
#   index.js        wasm-bindgen's JS glue, plus snippets/ it imports
#   index_bg.wasm   the Worker itself
#
# Needs the wasm32-unknown-unknown target and wasm-bindgen-cli at the exact version of the
# wasm-bindgen crate in Cargo.lock. Overrides: WORKER_CARGO (the cargo command, e.g.
# "cargo +debian-web"), WASM_BINDGEN (the CLI's path), CARGO_TARGET_DIR.
set -eu
cd "$(dirname "$0")"
out=${1:-build}
cargo_cmd=${WORKER_CARGO:-cargo}
wasm_bindgen=${WASM_BINDGEN:-wasm-bindgen}
target_dir=${CARGO_TARGET_DIR:-target}

want=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
have=$("$wasm_bindgen" --version 2>/dev/null | awk '{ print $2 }') || true
if [ "$have" != "$want" ]; then
    echo "build.sh: need wasm-bindgen $want (found: ${have:-none});" \
        "run: cargo install wasm-bindgen-cli --version $want" >&2
    exit 1
fi

# shellcheck disable=SC2086 # WORKER_CARGO may carry a toolchain argument
$cargo_cmd build --release --target wasm32-unknown-unknown

rm -rf "$out"
mkdir -p "$out"
"$wasm_bindgen" "$target_dir/wasm32-unknown-unknown/release/reconstructor_worker.wasm" \
    --out-dir "$out" --out-name index --target module --no-typescript \
    --experimental-reset-state-function --force-enable-abort-handler
# The two flags let a trapped instance (a panic is an abort on wasm32) be replaced by a fresh one
# on the next call instead of failing every request until the isolate is recycled.
# wasm-bindgen imports the module with a source-phase import; Workers (and wrangler's bundler)
# take a plain import of a .wasm file as the compiled WebAssembly.Module.
sed -i 's/^import source /import /' "$out/index.js"
cp shim.mjs "$out/shim.mjs"
echo "built $out: $(wc -c <"$out/index_bg.wasm") bytes of wasm"
