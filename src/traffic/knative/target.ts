/** The revision a traffic target addresses: fixed, or the latest of a configuration. */
export function knativeTarget(
  t: Record<string, unknown> | undefined,
  service: string | undefined,
): { id: string; name: string } | undefined {
  if (!t) return undefined;
  if (typeof t.revisionName === 'string' && t.revisionName !== '')
    return { id: `revision:${t.revisionName}`, name: `revision ${t.revisionName}` };
  const config =
    typeof t.configurationName === 'string' && t.configurationName !== ''
      ? t.configurationName
      : service;
  if (
    config !== undefined &&
    (t.latestRevision === true || typeof t.configurationName === 'string')
  )
    return { id: `latest:${config}`, name: `the latest revision of ${config}` };
  return undefined;
}
