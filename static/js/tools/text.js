// Text (T) and sticky note (N, a text with a fill): click to place, type in place (a
// multi-line textarea over the canvas); Escape or a click outside commits; double-click
// an existing one (with the select or text tool) to edit it.
export function textTool(sticky) {
  return {
    name: sticky ? "sticky" : "text",
    edits: true,
    down(app, c) {
      const hit = app.itemAt(c.w);
      if (hit && hit.tool === "text" && !!hit.fill === sticky) return app.editText(hit);
      app.editText(null, c.w, sticky);
    },
    move() {},
    up() {},
  };
}
