#!/usr/bin/env bash
# A second checkout of this repository at <commit>, built, for bench/serving/ab.mjs to compare
# two builds (A='{"root":"<dir>"}'). It shares this checkout's npm packages (linked, not
# installed again) but has its own @maas/* libraries and generated Prisma client.
#
#   bash bench/serving/ab-checkout.sh HEAD /tmp/maas-base
set -euo pipefail
commit=${1:?usage: ab-checkout.sh <commit> <dir>}
dir=${2:?usage: ab-checkout.sh <commit> <dir>}
here=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$dir"
git -C "$here" worktree prune
git -C "$here" worktree add --detach --force "$dir" "$commit" >/dev/null
mkdir -p "$dir/node_modules"
for entry in "$here"/node_modules/* "$here"/node_modules/.prisma; do
  [ -e "$entry" ] || continue
  name=$(basename "$entry")
  # The workspace's own packages are relative links (../../libs/x): copied, they point into $dir.
  if [ "$name" = "@maas" ]; then cp -a "$entry" "$dir/node_modules/"; else ln -s "$entry" "$dir/node_modules/$name"; fi
done
cp -a "$here/libs/db/src/generated" "$dir/libs/db/src/"
(cd "$dir" && node tools/build.mjs >/dev/null)
echo "built $(git -C "$dir" rev-parse --short HEAD) in $dir"
