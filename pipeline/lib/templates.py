"""One Jinja2 set-up for every page and e-mail the project renders."""

from jinja2 import Environment, PackageLoader, StrictUndefined


def template_environment(package: str, *, escape: bool = True) -> Environment:
    """Templates in `package`/templates. HTML values come from feeds, APIs, files and forms, so
    they are escaped (plain-text parts pass escape=False); a missing value is an error, never an
    empty string."""
    return Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=escape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
