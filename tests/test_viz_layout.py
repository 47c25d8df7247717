"""The two layouts of the picture: clusters per time step (op views), a row of cells (cell
views). Painter.digraph picks one; each is its own method."""

from __future__ import annotations

import re

from tinygrad_rnn.viz import elman_example, to_dot


def test_op_views_draw_one_cluster_per_step_and_no_row():
    model, E = elman_example(steps=4, hidden=3)
    dot = to_dot(E, params=model, view="op")
    assert re.findall(r"subgraph (cluster_t\d+)", dot) == [f"cluster_t{t}" for t in range(4)]
    assert "rankdir=LR" in dot and "subgraph spine" not in dot and "subgraph beside" not in dot


def test_cell_views_draw_the_cells_in_one_rank_with_single_use_leaves_beside_their_node():
    model, E = elman_example(steps=4, hidden=3)
    dot = to_dot(E, params=model, view="cell")
    assert "rankdir=TB" in dot and "subgraph cluster_t" not in dot
    spine = dot[dot.index("subgraph spine"):]
    spine = spine[:spine.index("}")]
    assert "rank=same" in spine and len(re.findall(r"<B>t=\d</B>", spine)) == 4, spine
    assert "subgraph beside0" in dot, "U and b feed only the input projection: drawn beside it"
