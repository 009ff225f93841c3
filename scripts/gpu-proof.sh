#!/usr/bin/env bash
# Proves that the trainer trains on an NVIDIA GPU: installs @tensorflow/tfjs-node-gpu into this
# checkout's node_modules (not saved to package.json), trains the benchmark MLP (60k×784 synthetic
# rows, 784-128-64-10, Adam, batch 128: bench/training/run.mjs's network) with
# TFJS_BACKEND=tensorflow-gpu and the TF.js engine, and prints the backend, the TensorFlow device
# and samples/s, beside ONNX Runtime on the CPU for scale. Exit 0 only when TensorFlow placed the
# work on a GPU.
#
#   bash scripts/gpu-proof.sh            ROWS=20000 EPOCHS=2 bash scripts/gpu-proof.sh
#
# What it needs (each is checked first, and a missing one stops it with its name):
#   - an NVIDIA GPU with its driver (`nvidia-smi` answers);
#   - the CUDA 11 runtime that libtensorflow 2.9 (tfjs-node-gpu 4.22) links: libcudart.so.11.0,
#     libcublas.so.11, libcublasLt.so.11, libcufft.so.10, libcurand.so.10, libcusolver.so.11,
#     libcusparse.so.11 and libcudnn.so.8, on the loader path (ldconfig or LD_LIBRARY_PATH).
#     Without them TensorFlow silently runs on the CPU, which this script reports as a failure;
#     Dockerfile.trainer-gpu's image (nvidia/cuda:11.8.0-cudnn8-runtime) has them;
#   - Node 20+, this checkout's dependencies installed (npm ci), and network access to
#       * the npm registry (the @tensorflow/tfjs-node-gpu package), and
#       * https://storage.googleapis.com (its install script downloads libtensorflow with CUDA
#         support, ~400 MB, and the prebuilt Node addon from there; npm alone is not enough).
#     Already installed (node_modules/@tensorflow/tfjs-node-gpu with its libtensorflow), nothing
#     is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS="${ROWS:-60000}"
EPOCHS="${EPOCHS:-1}"
LOG="${TMPDIR:-/tmp}/gpu-proof.$$.log"

say() { echo "gpu-proof: $*"; }
fail() {
  echo "gpu-proof: FAILED: $*" >&2
  exit 1
}

# ---- 1. the GPU ------------------------------------------------------------------------------
command -v nvidia-smi >/dev/null 2>&1 ||
  fail "nvidia-smi not found: this machine has no NVIDIA driver (or no GPU)"
gpus="$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1)" ||
  fail "nvidia-smi cannot talk to a GPU: $gpus"
say "GPU: $gpus"

# ---- 2. Node and the checkout ----------------------------------------------------------------
command -v node >/dev/null 2>&1 || fail "node not found (Node 20+ is needed)"
major="$(node -p 'process.versions.node.split(".")[0]')"
((major >= 20)) || fail "Node $(node -v) is too old (20+ is needed)"
[[ -d node_modules/@tensorflow/tfjs ]] ||
  fail "node_modules/@tensorflow/tfjs missing: install the checkout's dependencies first (npm ci)"
tfjs_version="$(node -p 'require("./node_modules/@tensorflow/tfjs/package.json").version')"

# ---- 3. the CUDA 11 libraries libtensorflow 2.9 loads ---------------------------------------
missing=()
for lib in libcudart.so.11.0 libcublas.so.11 libcublasLt.so.11 libcufft.so.10 libcurand.so.10 \
  libcusolver.so.11 libcusparse.so.11 libcudnn.so.8; do
  found=""
  if ldconfig -p 2>/dev/null | grep -q " $lib "; then found=1; fi
  IFS=: read -ra dirs <<<"${LD_LIBRARY_PATH:-}"
  for dir in "${dirs[@]}"; do [[ -n "$dir" && -e "$dir/$lib" ]] && found=1; done
  [[ -n "$found" ]] || missing+=("$lib")
done
if ((${#missing[@]} > 0)); then
  fail "CUDA 11 / cuDNN 8 libraries not on the loader path: ${missing[*]}.
  libtensorflow 2.9 (tfjs-node-gpu $tfjs_version) needs them and would run on the CPU without
  them. Run inside nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04 (Dockerfile.trainer-gpu), or
  add a CUDA 11.x runtime with cuDNN 8 to LD_LIBRARY_PATH. The host's CUDA 12 driver runs
  CUDA 11 code; the CUDA 12 runtime libraries do not replace these."
fi
say "CUDA 11 runtime and cuDNN 8: found"

# ---- 4. the GPU binding ----------------------------------------------------------------------
has_libtensorflow() {
  [[ -n "$(find node_modules/@tensorflow/tfjs-node-gpu -name 'libtensorflow.so*' -print -quit 2>/dev/null)" ]] &&
    [[ -n "$(find node_modules/@tensorflow/tfjs-node-gpu -name 'tfjs_binding.node' -print -quit 2>/dev/null)" ]]
}
if has_libtensorflow; then
  say "@tensorflow/tfjs-node-gpu already installed with libtensorflow"
else
  say "installing @tensorflow/tfjs-node-gpu@$tfjs_version (npm registry), then its install script (libtensorflow GPU + addon from storage.googleapis.com)"
  # --ignore-scripts, then only this package's script, as Dockerfile.trainer-gpu does: the other
  # packages' scripts (onnxruntime-node's CUDA download) stay off.
  npm install --no-save --no-audit --no-fund --ignore-scripts \
    "@tensorflow/tfjs-node-gpu@$tfjs_version" >"$LOG" 2>&1 ||
    fail "npm could not fetch @tensorflow/tfjs-node-gpu@$tfjs_version from the npm registry (log: $LOG):
$(tail -n 15 "$LOG")"
  npm rebuild @tensorflow/tfjs-node-gpu --foreground-scripts >>"$LOG" 2>&1 ||
    fail "the tfjs-node-gpu install script failed: it downloads libtensorflow-gpu and the addon
  from https://storage.googleapis.com, which must be reachable (log: $LOG):
$(tail -n 15 "$LOG")"
  has_libtensorflow ||
    fail "tfjs-node-gpu installed without libtensorflow or its addon (download blocked?); log: $LOG"
fi

# ---- 5. build and train ------------------------------------------------------------------------
[[ -f libs/training/dist/index.js && -f libs/tfjs-runtime/dist/index.js ]] || node tools/build.mjs >/dev/null

say "training 784-128-64-10 on $ROWS rows × $EPOCHS epoch(s), batch 128, Adam"
# TF_CPP_MIN_LOG_LEVEL=0: TensorFlow logs the device it creates ("device:GPU:0"), which is the
# proof that the work is on the GPU rather than libtensorflow's CPU fallback.
TF_CPP_MIN_LOG_LEVEL=0 ROWS="$ROWS" EPOCHS="$EPOCHS" node --input-type=module -e '
import { seededRandom } from "@maas/onnx";
import { activateTfjsBackend } from "@maas/tfjs-runtime";
import { trainMlp } from "@maas/training";

const rows = Number(process.env.ROWS);
const epochs = Number(process.env.EPOCHS);
const random = seededRandom(7);
const matrix = new Float32Array(rows * 784);
for (let i = 0; i < matrix.length; i += 1) matrix[i] = random();
const x = Array.from({ length: rows }, (_, i) => matrix.subarray(i * 784, (i + 1) * 784));
const y = Array.from({ length: rows }, () => Math.floor(random() * 10));
const hyperparameters = {
  hiddenLayers: [128, 64], activation: "relu", dropout: 0, optimizer: "adam",
  learningRate: 0.001, epochs, batchSize: 128, validationSplit: 0,
  earlyStoppingPatience: 0, testSplit: 0.2, seed: 1,
};
const backend = await activateTfjsBackend("tensorflow-gpu");
const time = async (engine) => {
  await trainMlp({ x: x.slice(0, 2048), y: y.slice(0, 2048), width: 784, classCount: 10,
    hyperparameters: { ...hyperparameters, epochs: 1 }, engine }).then((t) => t.model.dispose());
  const started = performance.now();
  const trained = await trainMlp({ x, y, width: 784, classCount: 10, hyperparameters, engine });
  const seconds = (performance.now() - started) / 1000;
  trained.model.dispose();
  return { engine, seconds: Number(seconds.toFixed(3)),
    samplesPerSecond: Math.round((rows * trained.epochsRun) / seconds) };
};
const gpu = await time("tfjs");
const cpu = await time("onnxruntime");
console.log(JSON.stringify({ backend, rows, epochs, tfjs: gpu, onnxruntimeCpu: cpu }));
' 2>"$LOG" | tee "$LOG.out" || fail "training failed (log: $LOG):
$(tail -n 20 "$LOG")"

result="$(tail -n 1 "$LOG.out")"
backend="$(node -p "JSON.parse(process.argv[1]).backend" "$result")"
[[ "$backend" == "tensorflow-gpu" ]] ||
  fail "TF.js ran on '$backend', not tensorflow-gpu: the binding did not start (log: $LOG):
$(grep -iE 'error|cannot|could not' "$LOG" | tail -n 10)"
device="$(grep -oE 'device:GPU:[0-9]+[^)]*' "$LOG" | head -n 1 || true)"
[[ -n "$device" ]] ||
  fail "tfjs-node-gpu loaded but TensorFlow created no GPU device, so it trained on the CPU (log: $LOG):
$(grep -iE 'cuda|cudnn|dso|gpu' "$LOG" | tail -n 10)"
say "backend: $backend; TensorFlow device: $device"
say "TF.js on the GPU: $(node -p "JSON.parse(process.argv[1]).tfjs.samplesPerSecond" "$result") samples/s; ONNX Runtime on the CPU: $(node -p "JSON.parse(process.argv[1]).onnxruntimeCpu.samplesPerSecond" "$result") samples/s"
say "OK"
