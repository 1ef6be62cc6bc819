// A strict little XML well-formedness checker for the generated SVG (no dependency): one root element,
// matched tags, quoted attributes without duplicates, only the five predefined entities or character
// references, no raw '<' or '&' in text.

export function wellFormedProblems(xml: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  let roots = 0;
  let i = 0;
  const name = /^[A-Za-z_:][-A-Za-z0-9_:.]*/;
  const checkText = (t: string) => {
    const bad = t.match(/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/);
    if (bad) problems.push(`bad entity near '${t.slice(Math.max(0, bad.index! - 10), bad.index! + 10)}'`);
  };
  if (xml.startsWith("<?xml")) i = xml.indexOf("?>") + 2;
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    const textPart = xml.slice(i, lt < 0 ? xml.length : lt);
    checkText(textPart);
    if (stack.length === 0 && textPart.trim() !== "") problems.push("text outside the root element");
    if (lt < 0) break;
    const gt = xml.indexOf(">", lt);
    if (gt < 0) {
      problems.push("unterminated tag");
      break;
    }
    const tag = xml.slice(lt + 1, gt);
    i = gt + 1;
    if (tag.startsWith("!--")) continue;
    if (tag.startsWith("/")) {
      const closing = tag.slice(1).trim();
      const open = stack.pop();
      if (open !== closing) problems.push(`</${closing}> closes <${open}>`);
      continue;
    }
    const selfClosing = tag.endsWith("/");
    const body = selfClosing ? tag.slice(0, -1) : tag;
    const m = body.match(name);
    if (!m) {
      problems.push(`bad tag '<${tag}>'`);
      continue;
    }
    if (stack.length === 0) roots++;
    const attributes = body.slice(m[0].length);
    const seen = new Set<string>();
    const attr = /\s+([A-Za-z_:][-A-Za-z0-9_:.]*)="([^"<]*)"/y;
    let pos = 0;
    while (pos < attributes.trimEnd().length) {
      attr.lastIndex = pos;
      const a = attr.exec(attributes);
      if (!a) {
        problems.push(`bad attributes in <${m[0]}>: '${attributes.slice(pos, pos + 30)}'`);
        break;
      }
      if (seen.has(a[1]!)) problems.push(`duplicate attribute ${a[1]} in <${m[0]}>`);
      seen.add(a[1]!);
      checkText(a[2]!);
      pos = attr.lastIndex;
    }
    if (!selfClosing) stack.push(m[0]);
  }
  if (stack.length > 0) problems.push(`unclosed <${stack.join(">, <")}>`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}
