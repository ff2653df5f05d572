// Public API of src/models: explicit named re-exports are added here as the area grows.
export {};
