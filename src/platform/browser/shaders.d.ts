// The virtual module scripts/build-web.ts provides: every shaders/*.wgsl file by name.
declare module 'handscan:shaders' {
  const shaders: Readonly<Record<string, string>>;
  export default shaders;
}
