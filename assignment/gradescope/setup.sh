#!/usr/bin/env bash
# Gradescope image build for the transfer-learning lab (replaces Otter's generic setup.sh).
# Only what the lab needs: Python 3.11 from Miniforge, the pinned requirements, and the
# EfficientNetV2B0 ImageNet weights cached once here, where the build has network, so that
# grading never downloads anything. No PDF toolchain and no browser: the lab exports no PDF.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SOURCE=/autograder/source
MINIFORGE_VERSION=25.3.1-0

apt-get update
apt-get install -y --no-install-recommends wget ca-certificates bzip2

wget -nv "https://github.com/conda-forge/miniforge/releases/download/${MINIFORGE_VERSION}/Miniforge3-Linux-$(uname -m).sh" \
    -O /tmp/miniforge.sh
bash /tmp/miniforge.sh -b -p /root/miniforge3
/root/miniforge3/bin/mamba env create -f "$SOURCE/environment.yml"

# Keras checks the weights' hash; cache_assets.py fails the build if anything is missing.
KERAS_HOME="$SOURCE/keras_home" LAB_MODE="$(cat "$SOURCE/lab_mode")" \
    /root/miniforge3/envs/otter-env/bin/python "$SOURCE/cache_assets.py"
