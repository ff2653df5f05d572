// Public API of src/metrics: explicit named re-exports are added here as the area grows.
export {};
