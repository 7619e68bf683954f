"""The transformation catalog text format: parsing, round trips, malformed input."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from catalogs import transformation_text, transformation_yaml
from catalogs.errors import CatalogFormatError
from catalogs.transformation import TransformationSite, TransformationType

SAMPLE = """\
# the keg example
tr example::keg:1.0 {
    profile env "APP_HOME" "/opt/keg"   # environment for every site
    site condorpool {
        pfn "/usr/bin/keg"
        arch "x86_64"
        os "linux"
        type "INSTALLED"
        profile pegasus "clusters.size" "3"
    }
    site local { pfn "/home/keg"; type "STAGEABLE" }
}

tr helper { site local { pfn "/bin/helper" } }
"""


def test_loads_the_sample() -> None:
    tc = transformation_text.loads(SAMPLE, "tc.txt")
    keg = tc.lookup("example", "keg", "1.0")
    assert keg is not None
    assert keg.profiles == {"env": {"APP_HOME": "/opt/keg"}}
    assert keg.sites[0] == TransformationSite(
        name="condorpool",
        pfn="/usr/bin/keg",
        arch="x86_64",
        os_type="linux",
        profiles={"pegasus": {"clusters.size": "3"}},
    )
    assert keg.sites[1].type is TransformationType.STAGEABLE
    helper = tc.lookup(None, "helper", None)
    assert helper is not None
    assert helper.sites[0].type is TransformationType.INSTALLED
    assert tc.source == "tc.txt"


def test_one_line_form_from_the_design_notes() -> None:
    tc = transformation_text.loads(
        'tr ns::name:ver { profile env "X" "y"; site X { pfn "/p"; arch "x86_64"; '
        'os "linux"; type "INSTALLED"; profile pegasus "clusters.size" "3" } }'
    )
    t = tc.transformations[0]
    assert (t.namespace, t.name, t.version) == ("ns", "name", "ver")
    assert t.sites[0].profiles == {"pegasus": {"clusters.size": "3"}}


def test_text_and_yaml_round_trip_through_each_other(tmp_path: Path) -> None:
    tc = transformation_text.loads(SAMPLE)
    transformation_text.dump(tc, tmp_path / "tc.txt")
    assert transformation_text.load(tmp_path / "tc.txt") == replace(
        tc, source=str(tmp_path / "tc.txt")
    )
    via_yaml = transformation_yaml.loads(transformation_yaml.dumps(tc))
    assert transformation_text.loads(transformation_text.dumps(via_yaml)) == tc


def test_dumps_is_byte_stable() -> None:
    tc = transformation_text.loads(SAMPLE)
    assert transformation_text.dumps(tc) == (
        "tr example::keg:1.0 {\n"
        '    profile env "APP_HOME" "/opt/keg"\n'
        "    site condorpool {\n"
        '        pfn "/usr/bin/keg"\n'
        '        arch "x86_64"\n'
        '        os "linux"\n'
        '        type "INSTALLED"\n'
        '        profile pegasus "clusters.size" "3"\n'
        "    }\n"
        "    site local {\n"
        '        pfn "/home/keg"\n'
        '        type "STAGEABLE"\n'
        "    }\n"
        "}\n"
        "\n"
        "tr helper {\n"
        "    site local {\n"
        '        pfn "/bin/helper"\n'
        '        type "INSTALLED"\n'
        "    }\n"
        "}\n"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("keg { }", "tc.txt: line 1: expected 'tr', got 'keg'"),
        (
            'tr keg {\n  site local {\n    arch "x"\n  }\n}\n',
            "tc.txt: tr keg site local has no pfn",
        ),
        ('tr keg {\n  profile pegsus "a" "b"\n}\n', "tc.txt: line 2: tr keg: unknown profile"),
        (
            'tr keg {\n  site s {\n    pfn "/k"\n    type "LINKED"\n  }\n}\n',
            "tc.txt: line 4: tr keg site s: type 'LINKED'",
        ),
        ("tr keg {\n  site s {\n", "tc.txt: line 3: unexpected end of file, expected '}'"),
        ('tr keg {\n  color "red"\n}\n', "tc.txt: line 2: tr keg: unknown statement 'color'"),
        ('tr keg {\n  profile env "A"\n}\n', "tc.txt: line 2: expected a profile value"),
        ('tr keg {\n  site s { pfn "/k }\n}\n', "tc.txt: line 2: unterminated quote"),
    ],
)
def test_malformed_input_names_the_line_and_entry(text: str, message: str) -> None:
    with pytest.raises(CatalogFormatError) as err:
        transformation_text.loads(text, "tc.txt")
    assert str(err.value).startswith(message), str(err.value)
