"""Add diagram interchange (BPMN DI) to hand-written BPMN files so Modeler, Cockpit and Tasklist can draw them.

Models here are written as XML for review in diffs; this lays them out left to right by longest path from
the start, boundary events on their hosts, subprocesses drawn collapsed with their own drill-down plane.
Existing DI is replaced. Usage: ``python scripts/layout_bpmn.py bpmn/**/*.bpmn``.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from xml.etree import ElementTree as ET

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "camunda": "http://camunda.org/schema/1.0/bpmn",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
for prefix, uri in NS.items():
    ET.register_namespace(prefix, uri)

B = f"{{{NS['bpmn']}}}"
SIZES = {"event": (36, 36), "gateway": (50, 50), "task": (120, 80)}
COLUMN, ROW, LEFT, TOP = 170, 130, 60, 80


def kind(tag: str) -> str:
    name = tag.removeprefix(B)
    if name.endswith("Event"):
        return "event"
    if name.endswith("Gateway"):
        return "gateway"
    return "task"


def layout_scope(scope: ET.Element, plane: ET.Element, definitions: ET.Element) -> None:
    """Shapes and edges for the direct children of one process or subprocess."""
    nodes = {e.get("id"): e for e in scope if e.tag != f"{B}sequenceFlow" and e.get("id")
             and e.tag not in (f"{B}boundaryEvent", f"{B}documentation", f"{B}extensionElements",
                               f"{B}multiInstanceLoopCharacteristics", f"{B}laneSet")
             and not (e.tag == f"{B}subProcess" and e.get("triggeredByEvent") == "true")}
    boundaries = [e for e in scope if e.tag == f"{B}boundaryEvent"]
    flows = [e for e in scope if e.tag == f"{B}sequenceFlow"]
    event_subprocesses = [e for e in scope if e.tag == f"{B}subProcess" and e.get("triggeredByEvent") == "true"]
    successors: dict[str, list[str]] = defaultdict(list)
    host_of = {b.get("id"): b.get("attachedToRef") for b in boundaries}
    for flow in flows:
        source = flow.get("sourceRef")
        successors[host_of.get(source, source)].append(flow.get("targetRef"))
    starts = [i for i, e in nodes.items() if e.tag == f"{B}startEvent"] or list(nodes)[:1]
    layer: dict[str, int] = {}

    def visit(node: str, depth: int, path: frozenset[str]) -> None:
        if node in path or node not in nodes or layer.get(node, -1) >= depth:
            return
        layer[node] = depth
        for target in successors.get(node, []):
            visit(target, depth + 1, path | {node})

    for start in starts:
        visit(start, 0, frozenset())
    for node in nodes:
        layer.setdefault(node, max(layer.values(), default=0) + 1)
    rows: dict[int, int] = defaultdict(int)
    bounds: dict[str, tuple[float, float, float, float]] = {}
    # The main path — what the start reaches through ordinary flows — takes the first row; exception
    # paths, entered only through boundary events, go below it; otherwise document order.
    main: set[str] = set()
    frontier = list(starts)
    while frontier:
        node = frontier.pop()
        if node in main or node not in nodes:
            continue
        main.add(node)
        frontier += [f.get("targetRef") for f in flows if f.get("sourceRef") == node]
    for node in sorted(nodes, key=lambda n: n not in main):
        column = layer[node]
        width, height = SIZES[kind(nodes[node].tag)]
        row = rows[column] if node in main else max(rows[column], 1)  # row 0 belongs to the main path
        x = LEFT + column * COLUMN + (SIZES["task"][0] - width) / 2
        y = TOP + row * ROW + (SIZES["task"][1] - height) / 2
        rows[column] = row + 1
        bounds[node] = (x, y, width, height)
    for boundary in boundaries:
        hx, hy, hw, hh = bounds[boundary.get("attachedToRef")]
        siblings = [b for b in boundaries if b.get("attachedToRef") == boundary.get("attachedToRef")]
        offset = siblings.index(boundary)
        bounds[boundary.get("id")] = (hx + hw - 30 - offset * 40, hy + hh - 18, 36, 36)
    bottom = max((y + h for _, y, _, h in bounds.values()), default=TOP)
    for index, sub in enumerate(event_subprocesses):
        bounds[sub.get("id")] = (LEFT + index * 200, bottom + 60, 120, 80)
    for element_id, (x, y, w, h) in bounds.items():
        shape = ET.SubElement(plane, f"{{{NS['bpmndi']}}}BPMNShape", id=f"{element_id}_di", bpmnElement=element_id)
        element = nodes.get(element_id) or next((s for s in event_subprocesses if s.get("id") == element_id), None)
        if element is not None and element.tag == f"{B}subProcess":
            shape.set("isExpanded", "false")
        if element is not None and element.tag == f"{B}exclusiveGateway":
            shape.set("isMarkerVisible", "true")
        ET.SubElement(shape, f"{{{NS['dc']}}}Bounds", x=f"{x:.0f}", y=f"{y:.0f}", width=f"{w:.0f}", height=f"{h:.0f}")
    for flow in flows:
        sx, sy, sw, sh = bounds[flow.get("sourceRef")]
        tx, ty, _, th = bounds[flow.get("targetRef")]
        edge = ET.SubElement(plane, f"{{{NS['bpmndi']}}}BPMNEdge", id=f"{flow.get('id')}_di",
                             bpmnElement=flow.get("id"))
        start = (sx + sw, sy + sh / 2) if flow.get("sourceRef") not in host_of else (sx + sw / 2, sy + sh)
        end = (tx, ty + th / 2)
        points = [start]
        if abs(start[1] - end[1]) > 1:
            middle = (end[0] - 20) if end[0] > start[0] else start[0]
            points += [(middle, start[1]), (middle, end[1])] if end[0] > start[0] else [(start[0], end[1])]
        points.append(end)
        for px, py in points:
            ET.SubElement(edge, f"{{{NS['di']}}}waypoint", x=f"{px:.0f}", y=f"{py:.0f}")
    for sub in [n for n in nodes.values() if n.tag == f"{B}subProcess"] + event_subprocesses:
        diagram = ET.SubElement(definitions, f"{{{NS['bpmndi']}}}BPMNDiagram", id=f"{sub.get('id')}_diagram")
        sub_plane = ET.SubElement(diagram, f"{{{NS['bpmndi']}}}BPMNPlane", id=f"{sub.get('id')}_plane",
                                  bpmnElement=sub.get("id"))
        layout_scope(sub, sub_plane, definitions)


def layout(path: Path) -> None:
    tree = ET.parse(path)
    root = tree.getroot()
    for diagram in root.findall(f"{{{NS['bpmndi']}}}BPMNDiagram"):
        root.remove(diagram)
    for process in root.findall(f"{B}process"):
        diagram = ET.SubElement(root, f"{{{NS['bpmndi']}}}BPMNDiagram", id=f"{process.get('id')}_diagram")
        plane = ET.SubElement(diagram, f"{{{NS['bpmndi']}}}BPMNPlane", id=f"{process.get('id')}_plane",
                              bpmnElement=process.get("id"))
        layout_scope(process, plane, root)
    ET.indent(tree, space="  ")
    tree.write(path, encoding="UTF-8", xml_declaration=True)


if __name__ == "__main__":
    for name in sys.argv[1:]:
        layout(Path(name))
        print(f"laid out {name}")
