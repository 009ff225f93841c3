import type { ReactNode } from 'react';
import { useList } from '../api/list';
import type { Page as ApiPage } from '../api/types';
import { AsyncList, TableScroll } from './ui';

export interface Column<T> {
  /** The header cell's content. */
  header: ReactNode;
  cell: (row: T, index: number) => ReactNode;
  /** The body cells' class ("actions", "small"), or a class per cell. */
  className?: string | ((row: T, index: number) => string);
  /** The cell heads its row (a `<th scope="row">`). */
  rowHeader?: boolean;
}

/** A header read by screen readers only (a column of buttons needs a name, not a label). */
export const hidden = (text: string) => <span className="visually-hidden">{text}</span>;

/**
 * A table of `rows`, one `columns` entry per column, in a TableScroll named `label`; `actions`,
 * the buttons that act on a row, make its last column. `rowTestId` marks each row
 * (`data-testid`), `testId` the table.
 */
export function DataTable<T>({
  label,
  columns: given,
  actions,
  rows,
  rowKey = (row, index) => (row as { id?: string }).id ?? index,
  rowTestId,
  testId,
  className,
  caption,
}: {
  label: string;
  columns: Column<T>[];
  actions?: (row: T) => ReactNode;
  rows: readonly T[];
  /** Default: the row's `id`. */
  rowKey?: (row: T, index: number) => string | number;
  rowTestId?: (row: T) => string;
  testId?: string;
  className?: string;
  caption?: ReactNode;
}) {
  const columns: Column<T>[] = actions
    ? [...given, { header: hidden('Actions'), className: 'actions', cell: actions }]
    : given;
  return (
    <TableScroll label={label}>
      <table className={className} data-testid={testId}>
        {caption && <caption>{caption}</caption>}
        <thead>
          <tr>
            {columns.map((column, i) => (
              <th key={i} scope="col">
                {column.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, r) => (
            <tr key={rowKey(row, r)} data-testid={rowTestId?.(row)}>
              {columns.map((column, i) => {
                const className =
                  typeof column.className === 'function'
                    ? column.className(row, r)
                    : column.className;
                return column.rowHeader ? (
                  <th key={i} scope="row" className={className}>
                    {column.cell(row, r)}
                  </th>
                ) : (
                  <td key={i} className={className}>
                    {column.cell(row, r)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  );
}

type AsyncTableProps<T> = Omit<Parameters<typeof DataTable<T>>[0], 'rows'> & {
  state: { status: string; value?: T[] | ApiPage<T>; error?: unknown; reload: () => void };
  empty: ReactNode;
};

/** A loaded list as a DataTable, or its `empty` message (see AsyncList). */
export function AsyncTable<T>({ state, empty, ...table }: AsyncTableProps<T>) {
  return (
    <AsyncList state={state} empty={empty}>
      {(items) => <DataTable {...table} rows={items} />}
    </AsyncList>
  );
}

/** An AsyncTable of all that `path` lists, for a view that needs the list nowhere else. */
export function ListTable<T>({
  path,
  ...table
}: Omit<AsyncTableProps<T>, 'state'> & { path: string }) {
  const state = useList<T>(path);
  return <AsyncTable {...table} state={state} />;
}
