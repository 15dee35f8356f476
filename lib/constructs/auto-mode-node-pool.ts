/** Options of {@link autoModeNodePoolManifests}. */
export interface AutoModeNodePoolOptions {
  /** Name of the NodeClass and the NodePool. */
  readonly name: string;
  /** Name of the IAM role the nodes run with (the cluster's Auto Mode node role: its access entry exists). */
  readonly nodeRoleName: string;
  /** Subnets the nodes are placed in. */
  readonly subnetIds: readonly string[];
  /** Security groups of the nodes (the cluster security group). */
  readonly securityGroupIds: readonly string[];
  /** CPU architecture of the nodes; the streaming scorer's image is built for the same one. */
  readonly arch: 'amd64' | 'arm64';
}

/** Name of the kube-system ConfigMap that turns Auto Mode's network-policy controller on. */
export const NETWORK_POLICY_CONFIGMAP = 'amazon-vpc-cni';

/**
 * What EKS Auto Mode needs before NetworkPolicies are enforced (they are accepted but ignored
 * otherwise): the network-policy controller switched on cluster-wide (ConfigMap `amazon-vpc-cni`
 * in kube-system), and nodes from a NodeClass with `networkPolicy` set — the built-in node pools'
 * NodeClass is managed by EKS and cannot be changed, hence an own NodeClass and NodePool that the
 * scorer's pods select.
 *
 * NodeClass (`eks.amazonaws.com/v1`) and NodePool (`karpenter.sh/v1`) are CRDs that
 * kubernetes-models does not type, so these are plain objects; the function checks its inputs.
 */
export const autoModeNodePoolManifests = (o: AutoModeNodePoolOptions): Record<string, unknown>[] => {
  if (o.subnetIds.length === 0 || o.securityGroupIds.length === 0) {
    throw new Error('autoModeNodePoolManifests: need at least one subnet and one security group');
  }
  const labels = { 'app.kubernetes.io/part-of': 'vigil' };
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: NETWORK_POLICY_CONFIGMAP, namespace: 'kube-system' },
      data: { 'enable-network-policy-controller': 'true' },
    },
    {
      apiVersion: 'eks.amazonaws.com/v1',
      kind: 'NodeClass',
      metadata: { name: o.name, labels },
      spec: {
        role: o.nodeRoleName,
        subnetSelectorTerms: o.subnetIds.map((id) => ({ id })),
        securityGroupSelectorTerms: o.securityGroupIds.map((id) => ({ id })),
        // Pods no policy selects keep working; Vigil's namespace carries its own default deny.
        networkPolicy: 'DefaultAllow',
        networkPolicyEventLogs: 'Enabled',
      },
    },
    {
      apiVersion: 'karpenter.sh/v1',
      kind: 'NodePool',
      metadata: { name: o.name, labels },
      spec: {
        template: {
          metadata: { labels },
          spec: {
            nodeClassRef: { group: 'eks.amazonaws.com', kind: 'NodeClass', name: o.name },
            requirements: [
              { key: 'kubernetes.io/arch', operator: 'In', values: [o.arch] },
              { key: 'karpenter.sh/capacity-type', operator: 'In', values: ['on-demand'] },
              { key: 'eks.amazonaws.com/instance-category', operator: 'In', values: ['c', 'm', 'r'] },
            ],
          },
        },
        disruption: { consolidationPolicy: 'WhenEmptyOrUnderutilized', consolidateAfter: '1m' },
      },
    },
  ];
};
