"""Render a notification from a YAML configuration with Jinja2: PyYAML's C loader (libyaml,
compiled into its wheel) reads the configuration, and autoescaping through MarkupSafe's
compiled speedups (Jinja2 imports MarkupSafe) keeps user input out of the HTML."""

import sys

import jinja2
import yaml

ENVIRONMENT = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
TEMPLATE = ENVIRONMENT.from_string(
    "<h1>{{ config.title }}</h1><ul>{% for item in items %}"
    "<li>{{ item.name }}: {{ '%.2f'|format(item.price) }} {{ config.currency }}</li>"
    "{% endfor %}</ul><p>{{ note }}</p>"
)


def handler(event, context):
    config = yaml.load(event["config"], Loader=yaml.CSafeLoader)
    html = TEMPLATE.render(config=config, items=event["items"], note=event["note"])
    return {
        "html": html,
        "config": config,
        "libyaml": yaml.__with_libyaml__,
        "markupsafe_speedups": "markupsafe._speedups" in sys.modules,
    }
