// Public API of src/attacks: explicit named re-exports are added here as the area grows.
export {};
