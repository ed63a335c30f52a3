/**
 * Addresses as GetMachineAddresses returns them (family, bytes), printed as glibc's inet_ntop()
 * prints them: dotted quad, or RFC 5952-style IPv6 with the longest zero run compressed and an
 * embedded IPv4 tail for ::ffff:a.b.c.d.
 */

export const AF_INET = 2;
export const AF_INET6 = 10;

export function addressToString(family: number, bytes: Uint8Array): string | undefined {
  if (family === AF_INET && bytes.length === 4) return Array.from(bytes).join('.');
  if (family === AF_INET6 && bytes.length === 16) return ntop6(bytes);
  return undefined;
}

function ntop6(b: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i]! << 8) | b[i + 1]!);
  let bestBase = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestBase = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    // An IPv4-compatible or IPv4-mapped address ends in dotted-quad form.
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      out += `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
      break;
    }
    out += words[i]!.toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) out += ':';
  return out;
}
