import { useState } from 'react';
import { api } from '../../api/client';
import type { Model } from '../../api/types';
import { ListTable } from '../../components/DataTable';
import { RowForm } from '../../components/forms';
import { Field, Page, Panel } from '../../components/ui';
import { formatTime } from '../../lib/format';
import { Link, navigate } from '../../lib/router';
import { useAction } from '../../lib/use-action';

export function ModelsPage() {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const create = useAction(async () => {
    const model = await api<Model>('/api/models', {
      method: 'POST',
      json: { name: name.trim(), ...(description.trim() && { description: description.trim() }) },
    });
    navigate(`/models/${encodeURIComponent(model.name)}`);
  });

  return (
    <Page title="Models">
      <Panel title="Your models">
        <ListTable<Model>
          path="/api/models"
          empty="No models yet: create one below, or train one from a dataset."
          label="Models"
          columns={[
            {
              header: 'Name',
              cell: (model) => (
                <Link to={`/models/${encodeURIComponent(model.name)}`}>{model.name}</Link>
              ),
            },
            { header: 'Description', cell: (model) => model.description ?? '—' },
            { header: 'Created', cell: (model) => formatTime(model.createdAt) },
          ]}
        />
      </Panel>
      <Panel title="Create a model">
        <RowForm action={create} button="Create model">
          <Field
            label="Name"
            required
            maxLength={63}
            value={name}
            onValue={setName}
            hint="Letters, digits, dots, dashes and underscores."
          />
          <Field
            label="Description"
            maxLength={2000}
            value={description}
            onValue={setDescription}
          />
        </RowForm>
      </Panel>
    </Page>
  );
}
