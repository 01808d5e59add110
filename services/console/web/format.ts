/** A time as the console shows it everywhere: the same for every reader, whatever the browser's locale or zone. */
export function formatAt(iso: string | null | undefined): string {
  if (!iso) return 'an unknown time';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return 'an unknown time';
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export const formatCount = (n: number): string => n.toLocaleString('en-US');
