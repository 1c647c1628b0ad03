"""`pipeline search QUERY`: ranked BM25 search over core.grants and core.client_news."""

from __future__ import annotations

import json
import sys

import click


@click.command()
@click.argument("query", nargs=-1, required=True)
@click.option(
    "--kind",
    type=click.Choice(["all", "grants", "news"]),
    default="all",
    show_default=True,
    help="What to search.",
)
@click.option("--tenant", help="Only this tenant's client news (grants are global).")
@click.option("--limit", type=click.IntRange(1, 500), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the hits as JSON.")
def search(
    query: tuple[str, ...], kind: str, tenant: str | None, limit: int, as_json: bool
) -> None:
    """Rank grants and client news by relevance to QUERY (BM25, the local scorer's index)."""
    from pipeline.defs.shared.resources import warehouse_resource
    from pipeline.lib.scoring.search import load_documents, search_documents

    text = " ".join(query)
    resource = warehouse_resource()
    if not resource.exists():
        click.echo(f"no warehouse at {resource.describe()}: run `pipeline demo` first", err=True)
        sys.exit(1)
    kinds = {"all": ("grant", "news"), "grants": ("grant",), "news": ("news",)}[kind]
    with resource.get_connection(read_only=True) as conn:
        documents = load_documents(conn, kinds, tenant)
    outcome = search_documents(documents, text, limit)
    hits = outcome.hits
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "kind": h.document.kind,
                        "id": h.document.id,
                        "title": h.document.title,
                        "url": h.document.url,
                        "detail": h.document.detail,
                        "score": round(h.score, 4),
                        "is_sample": h.document.is_sample,
                    }
                    for h in hits
                ],
                indent=2,
            )
        )
        return
    if not hits:
        nearest = (
            "; nearest terms in the index: " + ", ".join(outcome.nearest)
            if outcome.nearest
            else "; no indexed word is spelled like it"
        )
        click.echo(f"no match for {text!r} in {len(documents)} documents{nearest}")
        return
    if outcome.missing and outcome.related:
        click.echo(
            f"no document says {', '.join(outcome.missing)}; showing documents about related"
            f" terms: {', '.join(outcome.related[:8])}\n"
        )
    samples = sum(hit.document.is_sample for hit in hits)
    if samples:
        click.echo(
            f"SAMPLE DATA: {samples} of these {len(hits)} results come from the bundled samples,"
            " not from real sources (marked [sample]).\n"
        )
    for rank, hit in enumerate(hits, 1):
        doc = hit.document
        label = " [sample]" if doc.is_sample else ""
        click.echo(f"{rank:>3}. [{doc.kind}]{label} {hit.score:6.2f}  {doc.title}")
        click.echo(f"       {doc.detail}  {doc.url}")
    click.echo(f"\n{len(hits)} of {len(documents)} documents")
