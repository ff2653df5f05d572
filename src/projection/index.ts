// Public API of src/projection: explicit named re-exports are added here as the area grows.
export {};
