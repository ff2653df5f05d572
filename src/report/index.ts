// Public API of src/report: explicit named re-exports are added here as the area grows.
export {};
