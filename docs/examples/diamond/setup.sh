#!/bin/sh
# Write the diamond example's input file and catalogs into DIR (default: work).
#
# Catalogs name files by absolute path, so they are written for the place this checkout
# lives in rather than shipped: the input f.a, rc.yml (where f.a is), tc.yml (the three
# scripts of tests/e2e/diamond, installed on the sites cluster and condorpool) and
# sites.yml (local, the submit host, and cluster, a shared file system; condorpool, an
# HTCondor pool without one, is a default site that needs no entry).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
scripts=$(cd "$here/../../../tests/e2e/diamond" && pwd)
mkdir -p "${1:-work}"
dir=$(cd "${1:-work}" && pwd)

echo data > "$dir/f.a"

cat > "$dir/rc.yml" <<END
pegasus: "5.0"
replicas:
  - lfn: f.a
    pfns: [{site: local, pfn: "file://$dir/f.a"}]
END

{
    echo 'pegasus: "5.0"'
    echo 'transformations:'
    for tr in preprocess findrange analyze; do
        echo "  - name: $tr"
        echo "    sites:"
        for site in cluster condorpool; do
            echo "      - {name: $site, pfn: \"$scripts/$tr.py\", type: installed}"
        done
    done
} > "$dir/tc.yml"

cat > "$dir/sites.yml" <<END
pegasus: "5.0"
sites:
  - name: local
    directories:
      - type: sharedScratch
        path: $dir/local/scratch
        fileServers: [{url: "file://$dir/local/scratch", operation: all}]
      - type: localStorage
        path: $dir/outputs
        fileServers: [{url: "file://$dir/outputs", operation: all}]
  - name: cluster
    directories:
      - type: sharedScratch
        path: $dir/cluster/scratch
        fileServers: [{url: "file://$dir/cluster/scratch", operation: all}]
    profiles:
      pegasus: {data.configuration: sharedfs, slots: 2}
END
echo "wrote $1/f.a, rc.yml, tc.yml, sites.yml"
