"""Building blocks shared by attribution methods (the core side of the method plugins).

A method plugin (``methods/``) imports only the core, never another plugin; what
several methods share lives here:

- :mod:`~attrbench.attribution.gradients`: target logits and gradients, batched;
  per-position alphabet centring;
- :mod:`~attrbench.attribution.paths`: the reference of integrated gradients and
  DeepLIFT, and the path quadrature;
- :mod:`~attrbench.attribution.rescale`: the batched DeepLIFT rescale rule;
- :mod:`~attrbench.attribution.tokens`: k-mer token scores to nucleotide scores.

Import the submodule you need; this package imports none of them (so it is cheap).
"""
