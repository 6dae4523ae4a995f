// The pipeline's layers, lowest first: a module may import its own layer and those below it,
// never one above, and no import cycle anywhere. `npm run lint` checks it.
const LAYERS = [
  "lib",
  "config",
  "gates",
  "remote",
  "survey",
  "deploy",
  "evidence",
  "components",
  "tools",
];
const ENTRY = ["testbed", "scripts", "bench"];

const upward = LAYERS.map((layer, i) => ({
  name: `${layer}-imports-downward-only`,
  comment: `${layer}/ may import ${LAYERS.slice(0, i + 1).join(", ")}; the pipeline runs one way`,
  severity: "error",
  from: { path: `^${layer}/` },
  to: { path: `^(${[...LAYERS.slice(i + 1), ...ENTRY].join("|")})/` },
}));

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "an import cycle hides which module depends on which",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(dist|node_modules)/" },
    // Type-only imports couple modules too.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
  },
};
