// Public API of src/probes: explicit named re-exports are added here as the area grows.
export {};
