"""Converting a trained model into a project: `convert` (the verb), one module per kind of
artifact (`_onnx`, `_sklearn`, `_torch`, `_lume_torch`) that reads its inputs and outputs, and
what all kinds share (`_inferred`: what a kind found; `_kinds`: which kind a file is;
`_variables`: reconciling a variables file with the artifact and drawing the test samples).

Writes projects through `scaffold`'s project writer, never through `tooling`; its public names
are re-exported by `modelcrate.packaging`.
"""
