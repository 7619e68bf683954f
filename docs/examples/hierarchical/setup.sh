#!/bin/sh
# Write the hierarchical examples' input and catalogs into DIR (default: work).
#
# rc.yml names the input data.txt and every workflow file of tests/e2e/hierarchical (a
# sub-workflow's file is found through the replica catalog like any input); tc.yml
# installs step.py as the transformation "step" on condorpool (and on local, where the
# third level's jobs run); sites.yml puts local's storage, the output site, in DIR/outputs.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
wfs=$(cd "$here/../../../tests/e2e/hierarchical" && pwd)
mkdir -p "${1:-work}"
dir=$(cd "${1:-work}" && pwd)

echo data > "$dir/data.txt"
{
    echo 'pegasus: "5.0"'
    echo 'replicas:'
    echo "  - {lfn: data.txt, pfns: [{site: local, pfn: \"file://$dir/data.txt\"}]}"
    for wf in top first second top3 middle leaf; do
        echo "  - {lfn: $wf.yml, pfns: [{site: local, pfn: \"file://$wfs/$wf.yml\"}]}"
    done
} > "$dir/rc.yml"

cat > "$dir/tc.yml" <<END
pegasus: "5.0"
transformations:
  - name: step
    sites:
      - {name: condorpool, pfn: "$wfs/step.py", type: installed}
      - {name: local, pfn: "$wfs/step.py", type: installed}
END

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
END
echo "wrote ${1:-work}/data.txt, rc.yml, tc.yml, sites.yml"
