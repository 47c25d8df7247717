"""Visualization: the unfolded graph coloured by gradient magnitude, and gradient flow in time.

    loss.backward(keep_node_grads=True)          # keep every node's gradient for the picture
    viz.draw(loss, params=model)                 # a graphviz.Digraph (displays in Jupyter)
    viz.save(viz.draw(loss, view="cell"), "unrolled.svg")
    viz.step_contributions(loss, model)["W"]     # ∂E/∂W split by time step
    viz.write_flow_figure("flow.png")            # the vanishing/exploding-gradient figure

Nothing here is imported by the engine: visualization only reads the graph.

The pipeline, one step per module:
    trace.trace       the graph behind a tensor -> Graph (nodes with node.step, |grad| as GradStat)
    views.build_view  Graph -> View: display nodes, and the statistic each fill shows (VNode.fill)
    bounds            which view to draw so that the picture stays readable (folds long graphs)
    render.Painter    View -> graphviz.Digraph: maps each statistic to a style via colors.py
    drawing           draw / to_dot / save: the public entry points that chain the above
"""

from .bounds import LargeGraphWarning, choose_view
from .colors import LogColormap
from .contrib import step_contributions
from .drawing import (
                   GraphvizNotFound,
                   RenderTimeout,
                   draw,
                   elman_example,
                   render_unrolled,
                   save,
                   to_dot,
)
from .explore import Explorer, explore
from .flow import (
                   ClipRun,
                   FlowCurve,
                   FlowResults,
                   clip_experiment,
                   format_table,
                   hidden_grad_norms,
                   jacobian_norms,
                   sweep,
)
from .plot import flow_figure, plot_flow, write_flow_figure
from .trace import Edge, GradStat, Graph, Node, trace
from .views import View, build_view, step_stats

__all__ = [
    "trace", "Graph", "Node", "Edge", "GradStat",
    "draw", "to_dot", "save", "render_unrolled", "elman_example", "choose_view", "GraphvizNotFound",
    "RenderTimeout", "LargeGraphWarning", "LogColormap", "step_contributions", "View",
    "build_view", "step_stats", "explore", "Explorer",
    "hidden_grad_norms", "jacobian_norms", "sweep", "format_table", "write_flow_figure",
    "FlowCurve", "FlowResults", "ClipRun", "clip_experiment", "flow_figure", "plot_flow",
]
