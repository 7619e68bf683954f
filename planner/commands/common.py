"""Helpers shared by the subcommands: the workflow argument, the catalog options, and
the planner's inputs from them.

``wfplan validate``, ``info``, ``convert`` and ``plan`` use these, so the options read the
same everywhere. Imports are lazy: ``add_*`` run while the parser is built.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from catalogs.replica import ReplicaCatalog
    from catalogs.transformation import TransformationCatalog
    from planner.model.workflow import Workflow
    from planner.plan import Catalogs as PlanCatalogs
    from sites.model import SiteCatalog


def add_workflow_argument(parser: argparse.ArgumentParser, name: str = "workflow") -> None:
    parser.add_argument(
        name,
        metavar="WF",
        help="workflow file: .yml/.yaml (Pegasus 5.0), .xml/.dax (DAX 2.1/3.x), .json (WfFormat)",
    )


def add_catalog_options(parser: argparse.ArgumentParser) -> None:
    """``--rc`` (repeatable, earlier files win), ``--tc`` and ``--sc``."""
    parser.add_argument(
        "--rc",
        action="append",
        default=[],
        metavar="FILE",
        help="replica catalog (YAML, text or SQLite); repeatable, earlier files win",
    )
    parser.add_argument("--tc", metavar="FILE", help="transformation catalog (YAML or text)")
    parser.add_argument("--sc", metavar="FILE", help="site catalog (YAML)")


def add_property_options(parser: argparse.ArgumentParser) -> None:
    """``--conf FILE`` and ``-Dkey=value`` (repeatable, before or after the workflow), as
    pegasus-plan takes them."""
    parser.add_argument(
        "-D",
        dest="defines",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a property, e.g. -Dpegasus.catalog.site.file=sites.yml (repeatable; beats --conf, "
        "which beats ~/.pegasusrc)",
    )
    parser.add_argument("--conf", metavar="FILE", help="pegasus.properties file")


def read_properties(args: argparse.Namespace, home: Path | None = None) -> dict[str, str]:
    """The properties in force, merged in Pegasus's order (``~/.pegasusrc`` < ``--conf`` <
    ``-D``). Keys wfplan does not use are warned about on stderr, naming the key, where it
    came from and the nearest known key. ``pegasus.catalog.{site,transformation,replica}
    .file`` fill in ``--sc``/``--tc``/``--rc`` where the command line gave none."""
    from pathlib import Path

    from planner.properties import load_properties, merge_layers, parse_define

    layers: list[tuple[str, dict[str, str]]] = []
    rc_file = (home if home is not None else Path.home()) / ".pegasusrc"
    if rc_file.is_file():
        layers.append((str(rc_file), load_properties(rc_file)))
    if getattr(args, "conf", None):
        layers.append((args.conf, load_properties(Path(args.conf))))
    defines = dict(parse_define(text) for text in getattr(args, "defines", None) or [])
    if defines:
        layers.append(("-D", defines))
    for source, layer in layers:
        _warn_unknown(source, layer)
    properties = merge_layers(layer for _, layer in layers)
    _catalogs_from_properties(args, properties)
    return properties


def _warn_unknown(source: str, layer: dict[str, str]) -> None:
    import sys

    from planner.properties import unknown_keys

    for key, nearest in unknown_keys(layer):
        hint = f"nearest known: {nearest!r}" if nearest else "no known key is close"
        print(
            f"wfplan: warning: {source}: property {key!r} is not one wfplan uses ({hint}); "
            "it has no effect",
            file=sys.stderr,
        )


def _catalogs_from_properties(args: argparse.Namespace, properties: dict[str, str]) -> None:
    from planner.properties import CATALOG_FILE_KEYS

    for option, key in CATALOG_FILE_KEYS.items():
        value = properties.get(key)
        if not value or not hasattr(args, option):
            continue
        if option == "rc" and not args.rc:
            args.rc = [value]
        elif option != "rc" and not getattr(args, option):
            setattr(args, option, value)


def load_workflow(path: str) -> Workflow:
    from planner.formats import load_workflow as _load

    return _load(path)


@dataclass(frozen=True)
class Catalogs:
    """The catalogs in force: those given on the command line, else those inlined in the
    workflow (a file given with --rc/--tc/--sc is searched before the inline one)."""

    replicas: ReplicaCatalog | None
    transformations: TransformationCatalog | None
    sites: SiteCatalog | None


def load_catalogs(args: argparse.Namespace, workflow: Workflow | None = None) -> Catalogs:
    """Read ``--rc``/``--tc``/``--sc`` and merge them with the workflow's inline catalogs."""
    replicas = workflow.replica_catalog if workflow is not None else None
    transformations = workflow.transformation_catalog if workflow is not None else None
    sites = workflow.site_catalog if workflow is not None else None
    rc_paths: list[str] = list(getattr(args, "rc", None) or [])
    if rc_paths:
        from catalogs.loader import load_replica_catalogs

        given = load_replica_catalogs(rc_paths)
        replicas = given if replicas is None else given.merged(replicas)
    if getattr(args, "tc", None):
        from catalogs.loader import load_transformation_catalog

        tc = load_transformation_catalog(args.tc)
        transformations = tc if transformations is None else tc.merged(transformations)
    if getattr(args, "sc", None):
        from sites.loader import load_site_catalog

        sites = load_site_catalog(args.sc)
    return Catalogs(replicas=replicas, transformations=transformations, sites=sites)


def load_for_planning(args: argparse.Namespace, site_root: Path) -> tuple[Workflow, PlanCatalogs]:
    """The workflow and the catalogs ``plan()`` takes, from the command line.

    The inline catalogs are merged here (after the files given), so they are removed from
    the returned workflow: ``plan()`` must not merge them twice. Sites ``local`` and
    ``condorpool`` get their defaults rooted at ``site_root``.
    """
    from dataclasses import replace

    from catalogs.replica import ReplicaCatalog
    from catalogs.transformation import TransformationCatalog
    from planner.plan import Catalogs as PlanCatalogs
    from sites.defaults import with_defaults
    from sites.model import SiteCatalog

    workflow = load_workflow(args.workflow)
    loaded = load_catalogs(args, workflow)
    inline = (workflow.replica_catalog, workflow.transformation_catalog, workflow.site_catalog)
    if any(catalog is not None for catalog in inline):  # replace() indexes the jobs anew
        workflow = replace(
            workflow, replica_catalog=None, transformation_catalog=None, site_catalog=None
        )
    catalogs = PlanCatalogs(
        replicas=loaded.replicas or ReplicaCatalog(),
        transformations=loaded.transformations or TransformationCatalog(),
        sites=with_defaults(loaded.sites or SiteCatalog(), site_root),
    )
    return workflow, catalogs
