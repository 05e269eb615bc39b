# -*- coding: utf-8 -*-
# Copyright: iredmail-ports contributors
# MIT OR Apache-2.0
"""Inline definitions (Kubernetes objects, a Compose mapping) written as YAML for the
binary, keeping for every line written where in the playbook its value came from, so a
finding points at the playbook's line rather than at a temporary file."""

from __future__ import annotations

import json

try:  # ansible-core >= 2.19 tags every loaded value with its origin
    from ansible._internal._datatag._tags import Origin
except ImportError:  # ansible-core < 2.19 keeps `ansible_pos` on loaded YAML objects
    Origin = None


class DefinitionError(Exception):
    """A definition that is neither Kubernetes objects nor a Compose mapping."""


def origin_of(value):
    """Where a value was written, as (path, line, column), or None when it was computed
    (templated from a variable, built by a filter)."""
    if Origin is not None:
        tag = Origin.get_tag(value)
        if tag is not None and tag.path and tag.line_num:
            return (tag.path, tag.line_num, tag.col_num)
    position = getattr(value, 'ansible_pos', None)
    if position and position[0] and position[1]:
        return (position[0], position[1], position[2])
    return None


def kind_of(definition, kind):
    """Which kind an inline definition is; with `kind: auto`, told by its shape as
    kubernetes.core.k8s and docker_compose_v2 take them."""
    if isinstance(definition, str):
        return kind
    looks_compose = isinstance(definition, dict) and 'services' in definition
    looks_kubernetes = isinstance(definition, list) or (
        isinstance(definition, dict) and 'apiVersion' in definition and 'kind' in definition
    )
    if kind == 'compose' and not looks_compose:
        raise DefinitionError('kind compose: definition must be a Compose mapping with services')
    if kind == 'kubernetes' and not looks_kubernetes:
        raise DefinitionError(
            'kind kubernetes: definition must be a Kubernetes object (apiVersion, kind) or a list of them'
        )
    if kind != 'auto':
        return kind
    if looks_compose:
        return 'compose'
    if looks_kubernetes:
        return 'kubernetes'
    raise DefinitionError(
        'definition is neither Kubernetes objects (apiVersion and kind, or a list of objects) '
        'nor a Compose mapping (services); set kind to say which it is'
    )


class Emitter:
    """Block-style YAML with JSON scalars (valid YAML), one value per line, and the origin
    of each line."""

    def __init__(self, fallback):
        self.lines = []
        self.origins = []
        self.fallback = fallback

    def line(self, text, *candidates):
        self.lines.append(text)
        origin = next((o for o in (origin_of(c) for c in candidates) if o), None)
        self.origins.append(origin)

    def node(self, value, indent):
        pad = ' ' * indent
        if isinstance(value, dict):
            for key, item in value.items():
                key_text = json.dumps(str(key))
                if isinstance(item, (dict, list)) and item:
                    self.line('%s%s:' % (pad, key_text), key, item)
                    self.node(item, indent + 2)
                else:
                    self.line('%s%s: %s' % (pad, key_text, scalar(item)), item, key)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, (dict, list)) and item:
                    # The item's first entry goes on the dash's line, as people write it.
                    start = len(self.lines)
                    self.node(item, indent + 2)
                    first = self.lines[start]
                    self.lines[start] = pad + '- ' + first[indent + 2:]
                else:
                    self.line('%s- %s' % (pad, scalar(item)), item)
        else:
            self.line(pad + scalar(value), value)

    def locate(self, line, column):
        """Where line `line` (1-based) of the emitted text came from; lines of computed
        values point at the nearest line above them that has an origin, else the task."""
        index = min(max(line - 1, 0), len(self.origins) - 1) if self.origins else -1
        while index >= 0:
            origin = self.origins[index]
            if origin:
                return origin
            index -= 1
        return self.fallback

    def text(self):
        return '\n'.join(self.lines) + '\n'


def scalar(value):
    """A YAML scalar for a plain value; JSON's spelling is valid YAML."""
    if isinstance(value, dict):
        return '{}'
    if isinstance(value, list):
        return '[]'
    if isinstance(value, (bool, int, float)) or value is None:
        return json.dumps(value)
    return json.dumps(str(value))


def emit(definition, kind, fallback):
    """The YAML text the binary reads for an inline definition, with its line map.
    Kubernetes lists become a multi-document stream; a string is taken as YAML already."""
    emitter = Emitter(fallback)
    if isinstance(definition, str):
        for text in definition.splitlines():
            emitter.line(text)
        return emitter
    if kind == 'kubernetes' and isinstance(definition, list):
        for position, item in enumerate(definition):
            if position:
                emitter.line('---')
            emitter.node(item, 0)
        return emitter
    emitter.node(definition, 0)
    return emitter
