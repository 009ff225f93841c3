import { useGet } from '../../../api/list';
import type { DecisionTree, TreeNode } from '../../../api/types';
import { AsyncView, Facts, Panel } from '../../../components/ui';
import { formatNumber } from '../../../lib/format';

function distribution(d: Record<string, number> | undefined): string {
  if (!d) return '';
  return Object.entries(d)
    .map(([k, v]) => `${k}: ${formatNumber(v, 2)}`)
    .join(', ');
}

/** The tree as nested lists: each branch's condition, then its node (a split or a leaf). */
function NodeView({ node }: { node: TreeNode }) {
  if (node.type === 'leaf') {
    return (
      <span className="tree-leaf">
        → <strong>{String(node.prediction)}</strong>{' '}
        <span className="muted small">
          ({node.samples} rows{node.distribution ? `; ${distribution(node.distribution)}` : ''})
        </span>
      </span>
    );
  }
  return (
    <>
      <span className="tree-split">
        split on <strong>{node.feature}</strong>{' '}
        <span className="muted small">
          ({node.criterion.name} {formatNumber(node.criterion.value, 4)}, {node.samples} rows)
        </span>
      </span>
      <ul className="tree">
        {node.branches.map((branch, i) => (
          <li key={i}>
            <code>{branch.condition}</code> <NodeView node={branch.node} />
          </li>
        ))}
      </ul>
    </>
  );
}

/** A trained decision tree: its rules (one per leaf) and the tree itself. */
export function TreePanel({ model, version }: { model: string; version: number }) {
  const tree = useGet<DecisionTree>(
    `/api/models/${encodeURIComponent(model)}/versions/${version}/tree`,
  );
  return (
    <Panel title={`Decision tree of version ${version}`} testId="tree-panel">
      <AsyncView state={tree}>
        {(view) => (
          <>
            <Facts
              items={[
                ['Variant', view.variant],
                ['Criterion', view.criterion],
                ['Pruning', view.pruning],
                ['Leaves', view.leaves],
                ['Depth', view.depth],
              ]}
            />
            <h3>Rules</h3>
            <ol className="rules" data-testid="tree-rules">
              {view.rules.map((rule, i) => (
                <li key={i}>
                  <code>{rule}</code>
                </li>
              ))}
            </ol>
            <details>
              <summary>The tree</summary>
              <div className="tree-root">
                <NodeView node={view.root} />
              </div>
            </details>
          </>
        )}
      </AsyncView>
    </Panel>
  );
}
