#!/usr/bin/env bash
# Install mmseem and its pinned OpenMMLab stack into the current Python.
# Idempotent: steps already satisfied are skipped (mmcv is built only once).
#   bash tools/install.sh            # CPU machine (also fine on GPU machines)
# The order matters: setuptools and torch first, then mmcv is compiled against
# that torch without build isolation, and every later install is held to
# requirements/constraints.txt so nothing moves torch again.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
PIP="$PY -m pip install --disable-pip-version-check -q"
C="-c requirements/constraints.txt"

echo "[mmseem install] build tools + torch"
$PIP "setuptools>=70,<82" wheel ninja psutil
$PIP torch==2.13.0

echo "[mmseem install] runtime requirements"
$PIP $C -r requirements/runtime.txt -r requirements/tests.txt
$PIP --no-deps -r requirements/no_deps.txt

if $PY - <<'PY' 2>/dev/null
import mmcv, mmcv._ext
assert mmcv.__version__ == '2.1.0'
PY
then
  echo "[mmseem install] mmcv 2.1.0 with ops already present"
else
  echo "[mmseem install] building mmcv 2.1.0 with ops from source (~7-10 min on 2 cores)"
  MAX_JOBS=${MAX_JOBS:-$(nproc)} $PIP --no-build-isolation $C mmcv==2.1.0
fi

echo "[mmseem install] mmengine, mmdet, mmsegmentation"
$PIP $C -r requirements/mminstall.txt

echo "[mmseem install] mmseem (regular install: mim needs mmseem/.mim)"
$PIP --no-build-isolation --no-deps .

$PY -c "import mmseem, mmcv, mmdet, mmseg, torch; print('[mmseem install] ok: mmseem', mmseem.__version__, '| torch', torch.__version__, '| mmcv', mmcv.__version__, '| mmdet', mmdet.__version__, '| mmseg', mmseg.__version__)"
