// The label colours live with the API types (src/api/label-colors.ts) so that the server's
// annotated videos (src/media/render/) and the browser draw every label in the same colour.
export * from '../../src/api/label-colors.js';
