// MathJax settings for pymdownx.arithmatex (generic mode): \( \) inline, \[ \] display; and
// for the notebooks' markdown cells, which write $ $ and $$ $$ as Jupyter does.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
  },
};

document$.subscribe(() => {
  // MathJax reads only elements of class arithmatex (each one, not what is inside it): give
  // that class to everything in the notebooks' rendered markdown cells.
  document.querySelectorAll(".jp-RenderedMarkdown, .jp-RenderedMarkdown *").forEach((e) => {
    e.classList.add("arithmatex");
  });
  MathJax.startup.output.clearCache();
  MathJax.typesetClear();
  MathJax.texReset();
  MathJax.typesetPromise();
});
