// On the derivation pages an op's code sits in a collapsible box of its own: open the source
// listing inside it, so that one click shows the forward and the VJP.
document$.subscribe(() => {
  document
    .querySelectorAll("details.abstract details.mkdocstrings-source, details.success details.mkdocstrings-source")
    .forEach((listing) => {
      listing.open = true;
    });
});
