/**
 * The key schema of the single incident table, named once. The CDK `IncidentStore` builds the AWS table from it
 * and the laptop twin can create the identical dynalite table from it. Plain data, no CDK import, so importing
 * it from the twin or from function code costs nothing.
 */
export const TABLE_SCHEMA = {
  /** Partition key: `INCIDENT#<id>`, `DEDUP#<source>:<key>`, `CORR#<env>#<service>` (string). */
  partitionKey: 'pk',
  /** Sort key: `META`, `ALERT#<ts>#<n>`, `AGENT#<name>`, `EVENT#<ts>#<seq>`, `DEDUP`, `CORR` (string). */
  sortKey: 'sk',
  /** Epoch seconds after which DynamoDB may delete the item (dedup and correlation pointers). */
  ttlAttribute: 'expiresAt',
  /**
   * Global secondary index listing incidents by status and time (`STATUS#<status>`), and the grade items of resolved
   * incidents (`GRADES`: the production accuracy, functions/resolve-incident); projection ALL.
   */
  byStatusIndex: { name: 'byStatus', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
} as const;
